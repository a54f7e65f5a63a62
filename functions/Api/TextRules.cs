using System.Globalization;
using System.Text;

namespace Pdm.Functions.Api;

/// <summary>
/// What the API accepts in names, free text and path ids. Names are shown to other people (tenant lists, audit
/// entries), so they may not hide text: no control characters (NUL breaks PostgreSQL text), no bidi overrides or
/// isolates (they reorder what a reader sees), no lone surrogates (not valid Unicode, so not storable as UTF-8).
/// </summary>
internal static class TextRules
{
    /// <summary>Tenant names, key names and other display names.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Machine ids: the telemetry contract's ids, or a device id (up to 128) for plain device JSON.</summary>
    public const int MaxIdLength = 128;

    /// <summary>
    /// A required display name: trimmed, 1..<paramref name="maxLength"/> characters, none of them hidden or control.
    /// </summary>
    /// <returns>Null and the trimmed name when it is acceptable, else the reason (naming the field).</returns>
    public static string? CheckName(string? value, string field, int maxLength, out string trimmed)
    {
        trimmed = value?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return $"{field} is required (1 to {maxLength} characters)";
        }
        if (trimmed.Length > maxLength)
        {
            return $"{field} is {trimmed.Length} characters long; at most {maxLength} are allowed";
        }
        return ForbiddenCharacter(trimmed) is { } problem ? $"{field} {problem}" : null;
    }

    /// <summary>An optional free-text filter (a sensor name): absent is fine, present follows the name rules.</summary>
    public static string? CheckOptional(string? value, string field, int maxLength) =>
        value is null ? null : CheckName(value, field, maxLength, out _);

    /// <summary>A path id: 1..<paramref name="maxLength"/> of A-Z a-z 0-9 '_' '.' ':' '-', the characters ids are made of.</summary>
    public static string? CheckId(string? value, string field, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }
        if (value.Length > maxLength)
        {
            return $"{field} is {value.Length} characters long; at most {maxLength} are allowed";
        }
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or ':' or '-'))
            {
                return $"{field} may contain only letters, digits, '_', '.', ':' and '-' (found {Describe(c)})";
            }
        }
        return null;
    }

    /// <summary>The first character a name may not contain, described, or null when there is none.</summary>
    public static string? ForbiddenCharacter(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                    continue;
                }
                return $"contains a lone surrogate {Describe(c)} at position {i} (not valid Unicode)";
            }
            if (char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return $"contains the control character {Describe(c)} at position {i}";
            }
            if (IsBidiControl(c))
            {
                return $"contains the bidirectional control {Describe(c)} at position {i}";
            }
        }
        return null;
    }

    /// <summary>Explicit bidi formatting: embeddings, overrides, isolates and the directional marks.</summary>
    private static bool IsBidiControl(char c) => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static string Describe(char c) => string.Create(CultureInfo.InvariantCulture, $"U+{(int)c:X4}");

    /// <summary>A value shortened for an error message, so a 1 MB input does not come back in the answer.</summary>
    public static string Shorten(string value, int max = 40)
    {
        var builder = new StringBuilder(Math.Min(value.Length, max) + 1);
        foreach (var c in value.Length > max ? value[..max] : value)
        {
            builder.Append(char.IsControl(c) || IsBidiControl(c) || char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return value.Length > max ? builder.Append('…').ToString() : builder.ToString();
    }
}
