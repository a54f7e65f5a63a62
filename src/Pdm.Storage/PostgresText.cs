using System.Text;

namespace Pdm.Storage;

/// <summary>
/// What PostgreSQL's text and jsonb types refuse: the NUL character (SQLSTATE 22021, and 22P05 as a jsonb
/// <c>\u0000</c> escape) and, on the way there, UTF-16 that is not valid (a lone surrogate cannot be encoded as UTF-8).
/// Text from devices goes through <see cref="Escape"/> before it is stored, so its content cannot fail a write.
/// </summary>
public static class PostgresText
{
    /// <summary>How a NUL character is written in stored text: the JSON escape, six visible characters.</summary>
    public const string NulEscape = "\\u0000";

    /// <summary>True when <paramref name="text"/> can be stored as it is.</summary>
    public static bool CanStore(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return FirstProblem(text) < 0;
    }

    /// <summary>
    /// The text PostgreSQL accepts: each NUL becomes <see cref="NulEscape"/> and each lone surrogate U+FFFD. Text that
    /// needs neither is returned as it is.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = FirstProblem(text);
        if (first < 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length + 16);
        builder.Append(text, 0, first);
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                builder.Append(NulEscape);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                builder.Append('\uFFFD');
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    /// <summary>
    /// At most <paramref name="maxChars"/> characters of <paramref name="text"/> (a surrogate pair is never split),
    /// followed by a note saying how much was cut when it was.
    /// </summary>
    public static string Truncate(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        if (text.Length <= maxChars)
        {
            return text;
        }
        var kept = maxChars > 0 && char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        return $"{text.AsSpan(0, kept)}… [truncated: {kept} of {text.Length} characters kept]";
    }

    /// <summary>Index of the first NUL or lone surrogate, or -1.</summary>
    public static int FirstProblem(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return i;
            }
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                return i;
            }
        }
        return -1;
    }
}
