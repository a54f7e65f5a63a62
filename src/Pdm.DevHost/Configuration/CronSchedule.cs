using System.Diagnostics.CodeAnalysis;
using NCrontab;

namespace Pdm.DevHost.Configuration;

/// <summary>
/// A timer trigger's schedule, parsed by NCrontab in the six-field dialect the Functions host uses
/// (second minute hour day month day-of-week). Adds what the dev host needs on top: errors that name the
/// schedule, a schedule that can never fire refused at load time, and times in UTC.
/// </summary>
public sealed class CronSchedule
{
    private static readonly CrontabSchedule.ParseOptions Dialect = new() { IncludingSeconds = true };

    // A schedule repeats at the latest every 8 years (leap days included); searching further finds nothing new.
    private static readonly TimeSpan SearchHorizon = TimeSpan.FromDays(366 * 8);

    private readonly CrontabSchedule _schedule;

    private CronSchedule(string expression, CrontabSchedule schedule) => (Expression, _schedule) = (expression, schedule);

    public string Expression { get; }

    public override string ToString() => Expression;

    public static bool TryParse(string expression, [NotNullWhen(true)] out CronSchedule? schedule, out string error)
    {
        ArgumentNullException.ThrowIfNull(expression);
        schedule = null;
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields != 6)
        {
            // NCrontab's own message for this case does not say which dialect it expected.
            error = $"schedule '{expression}' has {fields} fields; NCRONTAB needs 6 (second minute hour day month day-of-week)";
            return false;
        }

        CrontabSchedule parsed;
        try
        {
            parsed = CrontabSchedule.Parse(expression, Dialect);
        }
        catch (CrontabException ex)
        {
            error = $"schedule '{expression}': {ex.Message}";
            return false;
        }

        var candidate = new CronSchedule(expression, parsed);
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
        var end = utc + SearchHorizon;
        var next = _schedule.GetNextOccurrence(utc, end);
        return next < end ? DateTime.SpecifyKind(next, DateTimeKind.Utc) : null;
    }
}
