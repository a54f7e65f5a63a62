using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pdm.Telemetry;

/// <summary>Text helpers for reading tokens safely and for writing error messages.</summary>
internal static class JsonText
{
    private const int ShownLength = 40;

    public static string Shorten(string text, int maxLength) =>
        text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, maxLength), "...");

    /// <summary>The token's raw text for an error message: lenient about bad UTF-8 and shortened.</summary>
    public static string Display(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        var text = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, ShownLength * 4)]);
        return Shorten(text, ShownLength);
    }

    /// <summary>The string token's unescaped UTF-8; false when it does not fit in <paramref name="scratch"/>.</summary>
    public static bool TryGetUnescaped(in Utf8JsonReader reader, Span<byte> scratch, out ReadOnlySpan<byte> bytes)
    {
        bytes = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            return bytes.Length <= scratch.Length;
        }
        // Escaping only ever makes text longer, so a raw value that fits holds an unescaped one that fits.
        if (bytes.Length > scratch.Length * 6)
        {
            return false;
        }
        Span<byte> unescaped = stackalloc byte[bytes.Length];
        int length;
        try
        {
            length = reader.CopyString(unescaped);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone UTF-16 surrogate ("\ud800") has no UTF-8 form.
            return false;
        }
        if (length > scratch.Length)
        {
            return false;
        }
        unescaped[..length].CopyTo(scratch);
        bytes = scratch[..length];
        return true;
    }

    /// <summary>The string token as text; false for text longer than <paramref name="maxLength"/> or bad UTF-8.</summary>
    public static bool TryGetString(ref Utf8JsonReader reader, int maxLength, out string text)
    {
        text = "";
        Span<byte> scratch = stackalloc byte[maxLength * 4];
        if (!TryGetUnescaped(in reader, scratch, out var bytes))
        {
            return false;
        }
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }
        text = Encoding.UTF8.GetString(bytes);
        return text.Length <= maxLength;
    }

    /// <summary>
    /// A member path under <paramref name="parent"/>: <c>values.temperature</c>, or <c>values['Temp C']</c>
    /// for a name that is not a plain identifier.
    /// </summary>
    public static string Member(string parent, string name) =>
        IsIdentifier(name)
            ? Join(parent, name)
            : Join(parent, $"['{name.Replace("'", "\\'", StringComparison.Ordinal)}']");

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Joins two path parts: <c>machines[0]</c> and <c>values.temperature</c>.</summary>
    public static string Join(string left, string right)
    {
        if (left.Length == 0 || right.Length == 0)
        {
            return left + right;
        }
        return right[0] == '[' ? left + right : $"{left}.{right}";
    }

    public static string Duration(TimeSpan span) => span.TotalMinutes < 120
        ? $"{span.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} minutes"
        : span.TotalHours < 48
            ? $"{span.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} hours"
            : $"{span.TotalDays.ToString("0.#", CultureInfo.InvariantCulture)} days";

    public static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}
