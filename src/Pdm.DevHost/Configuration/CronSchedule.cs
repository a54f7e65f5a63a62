using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Pdm.DevHost.Configuration;

/// <summary>
/// A six-field NCRONTAB schedule as the timer trigger reads it: second minute hour day month day-of-week,
/// each field "*", a value, a range "a-b", a list "a,b", with an optional step "/n". Month and weekday
/// names (JAN, MON) are accepted. Like NCrontab, a restricted day-of-month and day-of-week must both match.
/// Times are UTC.
/// </summary>
public sealed class CronSchedule
{
    private static readonly string[] MonthNames =
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    // A schedule repeats at the latest every 8 years (leap days included); searching further finds nothing new.
    private static readonly TimeSpan SearchHorizon = TimeSpan.FromDays(366 * 8);

    private readonly bool[] _seconds;
    private readonly bool[] _minutes;
    private readonly bool[] _hours;
    private readonly bool[] _days;
    private readonly bool[] _months;
    private readonly bool[] _daysOfWeek;

    private CronSchedule(string expression, bool[][] fields)
    {
        Expression = expression;
        (_seconds, _minutes, _hours, _days, _months, _daysOfWeek) =
            (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]);
    }

    public string Expression { get; }

    public override string ToString() => Expression;

    public static bool TryParse(string expression, [NotNullWhen(true)] out CronSchedule? schedule, out string error)
    {
        ArgumentNullException.ThrowIfNull(expression);
        schedule = null;
        var parts = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 6)
        {
            error = $"schedule '{expression}' has {parts.Length} fields; NCRONTAB needs 6 (second minute hour day month day-of-week)";
            return false;
        }

        (string Name, int Min, int Max, string[]? Names)[] specs =
        [
            ("second", 0, 59, null), ("minute", 0, 59, null), ("hour", 0, 23, null),
            ("day", 1, 31, null), ("month", 1, 12, MonthNames), ("day-of-week", 0, 6, DayNames),
        ];
        var fields = new bool[6][];
        for (var i = 0; i < 6; i++)
        {
            var (name, min, max, names) = specs[i];
            if (!TryParseField(parts[i], min, max, names, out fields[i], out var fieldError))
            {
                error = $"schedule '{expression}', {name} field '{parts[i]}': {fieldError}";
                return false;
            }
        }

        var candidate = new CronSchedule(expression, fields);
        if (candidate.GetNextOccurrence(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)) is null)
        {
            error = $"schedule '{expression}' never matches a date";
            return false;
        }

        schedule = candidate;
        error = "";
        return true;
    }

    /// <summary>The first matching second strictly after <paramref name="after"/> (UTC), or null when none exists.</summary>
    public DateTime? GetNextOccurrence(DateTime after)
    {
        var utc = after.Kind == DateTimeKind.Local ? after.ToUniversalTime() : after;
        var t = new DateTime(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(1);
        var limit = t + SearchHorizon;
        while (t < limit)
        {
            if (!_months[t.Month])
            {
                t = new DateTime(t.Year, t.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
            }
            else if (!_days[t.Day] || !_daysOfWeek[(int)t.DayOfWeek])
            {
                t = t.Date.AddDays(1);
            }
            else if (!_hours[t.Hour])
            {
                t = t.Date.AddHours(t.Hour + 1);
            }
            else if (!_minutes[t.Minute])
            {
                t = t.Date.AddHours(t.Hour).AddMinutes(t.Minute + 1);
            }
            else if (!_seconds[t.Second])
            {
                t = t.AddSeconds(1);
            }
            else
            {
                return t;
            }
        }

        return null;
    }

    private static bool TryParseField(string text, int min, int max, string[]? names, out bool[] allowed, out string error)
    {
        allowed = new bool[max + 1];
        foreach (var item in text.Split(','))
        {
            var rangeText = item;
            var step = 1;
            var slash = item.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                rangeText = item[..slash];
                if (!int.TryParse(item[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1)
                {
                    error = $"step in '{item}' must be a positive whole number";
                    return false;
                }
            }

            int from, to;
            if (rangeText == "*")
            {
                (from, to) = (min, max);
            }
            else
            {
                var dash = rangeText.IndexOf('-', StringComparison.Ordinal);
                var fromText = dash >= 0 ? rangeText[..dash] : rangeText;
                if (!TryParseValue(fromText, min, max, names, out from, out error))
                {
                    return false;
                }

                if (dash >= 0)
                {
                    if (!TryParseValue(rangeText[(dash + 1)..], min, max, names, out to, out error))
                    {
                        return false;
                    }

                    if (to < from)
                    {
                        error = $"range '{rangeText}' runs backwards";
                        return false;
                    }
                }
                else
                {
                    // "a/n" means every n-th value from a to the end of the field, as in NCrontab.
                    to = slash >= 0 ? max : from;
                }
            }

            for (var v = from; v <= to; v += step)
            {
                allowed[v] = true;
            }
        }

        error = "";
        return true;
    }

    private static bool TryParseValue(string text, int min, int max, string[]? names, out int value, out string error)
    {
        error = "";
        if (names is not null)
        {
            var index = Array.FindIndex(names, n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                value = index + min;
                return true;
            }
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            error = $"'{text}' is not a number";
            return false;
        }

        if (value < min || value > max)
        {
            error = $"{value} is outside {min}-{max}";
            return false;
        }

        return true;
    }
}
