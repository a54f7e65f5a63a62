using System.Text.Json;

namespace Pdm.Functions.Invocation;

/// <summary>
/// The Functions host JSON-serializes strings, numbers and arrays into strings before putting them in Data and
/// Metadata (azure-contracts.md §1.4), and the docs show single encoding: parse string content as JSON while it
/// yields a string again, and stop at the first value that is not JSON. This accepts both forms.
/// </summary>
internal static class HostValue
{
    public static JsonElement Unwrap(JsonElement value)
    {
        for (var depth = 0; depth < 3 && value.ValueKind == JsonValueKind.String; depth++)
        {
            var text = value.GetString()!;
            if (!LooksLikeJson(text))
            {
                break;
            }
            try
            {
                using var inner = JsonDocument.Parse(text);
                value = inner.RootElement.Clone();
            }
            catch (JsonException)
            {
                break;
            }
        }
        return value;
    }

    /// <summary>The element as text: strings without their quotes, anything else as JSON.</summary>
    public static string AsText(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    private static bool LooksLikeJson(string text)
    {
        var t = text.AsSpan().TrimStart();
        return t.Length > 0 && (t[0] is '[' or '{' or '"' or '-' or 't' or 'f' or 'n' || char.IsAsciiDigit(t[0]));
    }
}
