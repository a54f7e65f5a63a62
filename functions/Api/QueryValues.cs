using System.Globalization;

namespace Pdm.Functions.Api;

/// <summary>
/// Query parameters are bound as text and parsed here, so every endpoint answers a bad value the same way: a 400 that
/// names the parameter and says what it takes, whether the value is out of range or not a number at all.
/// </summary>
internal static class QueryValues
{
    /// <summary>A row limit: absent gives <paramref name="defaultValue"/>; otherwise a whole number in 1..<paramref name="max"/>.</summary>
    /// <returns>Null and the limit, or the reason.</returns>
    public static string? Limit(string? raw, int defaultValue, int max, out int limit)
    {
        limit = defaultValue;
        if (raw is null)
        {
            return null;
        }
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > max)
        {
            limit = defaultValue;
            return $"limit must be a whole number from 1 to {max} (got '{TextRules.Shorten(raw)}')";
        }
        return null;
    }

    /// <summary>An ISO 8601 time with an offset or Z; absent is null.</summary>
    public static string? Time(string? raw, string name, out DateTimeOffset? time)
    {
        time = null;
        if (raw is null)
        {
            return null;
        }
        if (!DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return $"{name} must be an ISO 8601 time such as 2026-01-31T12:00:00Z (got '{TextRules.Shorten(raw)}')";
        }
        time = parsed;
        return null;
    }

    /// <summary>A flag: <c>true</c> or <c>false</c> (any case); absent is false.</summary>
    public static string? Flag(string? raw, string name, out bool value)
    {
        value = false;
        if (raw is null || bool.TryParse(raw, out value))
        {
            return null;
        }
        return $"{name} must be true or false (got '{TextRules.Shorten(raw)}')";
    }
}
