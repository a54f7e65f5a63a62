using Pdm.DevHost.Configuration;

namespace Pdm.DevHost.Tests;

public class CronScheduleTests
{
    private static DateTime Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, DateTimeKind.Utc);

    private static CronSchedule Parse(string expression)
    {
        Assert.True(CronSchedule.TryParse(expression, out var schedule, out var error), error);
        return schedule;
    }

    private static List<DateTime> Next(CronSchedule schedule, DateTime after, int count)
    {
        var result = new List<DateTime>();
        for (var i = 0; i < count; i++)
        {
            after = schedule.GetNextOccurrence(after)!.Value;
            result.Add(after);
        }

        return result;
    }

    [Fact]
    public void Every_five_minutes_fires_on_the_five_minute_marks()
    {
        var next = Next(Parse("0 */5 * * * *"), Utc(2025, 3, 1, 12, 3, 10), 3);

        Assert.Equal([Utc(2025, 3, 1, 12, 5), Utc(2025, 3, 1, 12, 10), Utc(2025, 3, 1, 12, 15)], next);
    }

    [Fact]
    public void Seconds_come_first_and_an_occurrence_is_strictly_after_the_given_time()
    {
        var next = Next(Parse("*/15 * * * * *"), Utc(2025, 3, 1, 12, 0, 15), 2);

        Assert.Equal([Utc(2025, 3, 1, 12, 0, 30), Utc(2025, 3, 1, 12, 0, 45)], next);
    }

    [Fact]
    public void Lists_ranges_and_weekday_ranges_skip_to_the_next_working_day()
    {
        // Friday 2025-02-28 after the 17:30 run: next is Monday 09:30.
        var next = Next(Parse("0 30 9,17 * * 1-5"), Utc(2025, 2, 28, 17, 30), 2);

        Assert.Equal([Utc(2025, 3, 3, 9, 30), Utc(2025, 3, 3, 17, 30)], next);
    }

    [Fact]
    public void Month_and_day_names_are_accepted()
    {
        var next = Next(Parse("0 0 6 * JAN,jul SUN"), Utc(2025, 1, 10), 2);

        Assert.Equal([Utc(2025, 1, 12, 6), Utc(2025, 1, 19, 6)], next);
    }

    [Fact]
    public void Stepped_range_and_start_with_step_expand_like_ncrontab()
    {
        var next = Next(Parse("10/20 0-10/5 0 1 * *"), Utc(2025, 1, 1), 4);

        Assert.Equal([Utc(2025, 1, 1, 0, 0, 10), Utc(2025, 1, 1, 0, 0, 30), Utc(2025, 1, 1, 0, 0, 50), Utc(2025, 1, 1, 0, 5, 10)], next);
    }

    [Fact]
    public void Leap_day_schedule_waits_for_the_next_leap_year()
    {
        Assert.Equal(Utc(2028, 2, 29), Parse("0 0 0 29 2 *").GetNextOccurrence(Utc(2025, 3, 1)));
    }

    [Fact]
    public void Backward_range_and_zero_step_mean_what_they_mean_to_the_functions_host()
    {
        // NCrontab (and so the Functions host) reads 5-2 as 2-5 and a step of 0 as 1; the dev host does the same
        // rather than refuse a schedule that deploys.
        Assert.Equal([Utc(2025, 1, 1, 2), Utc(2025, 1, 1, 3), Utc(2025, 1, 1, 4), Utc(2025, 1, 1, 5), Utc(2025, 1, 2, 2)],
            Next(Parse("0 0 5-2 * * *"), Utc(2025, 1, 1), 5));
        Assert.Equal([Utc(2025, 1, 1, 0, 0, 1), Utc(2025, 1, 1, 0, 0, 2)], Next(Parse("*/0 * * * * *"), Utc(2025, 1, 1), 2));
    }

    [Fact]
    public void Occurrences_are_utc()
    {
        Assert.Equal(DateTimeKind.Utc, Parse("0 * * * * *").GetNextOccurrence(Utc(2025, 1, 1))!.Value.Kind);
    }

    [Theory]
    [InlineData("0 */5 * * *", "schedule '0 */5 * * *' has 5 fields; NCRONTAB needs 6")]
    [InlineData("0 60 * * * *", "schedule '0 60 * * * *': 60 is higher than the maximum allowable value for the [Minute] field")]
    [InlineData("0 0 0 * * 1-x", "'1-x' is not a valid [DayOfWeek] crontab field expression")]
    [InlineData("0 0 0 * * 7", "7 is higher than the maximum allowable value for the [DayOfWeek] field")]
    [InlineData("0 0 0 31 2 *", "schedule '0 0 0 31 2 *' never matches a date")]
    public void Invalid_schedules_are_rejected_with_the_field_and_reason(string expression, string expected)
    {
        Assert.False(CronSchedule.TryParse(expression, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
