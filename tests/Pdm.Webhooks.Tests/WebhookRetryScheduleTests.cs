namespace Pdm.Webhooks.Tests;

public sealed class WebhookRetryScheduleTests
{
    private static readonly WebhookRetrySchedule Schedule = WebhookRetrySchedule.Default;

    /// <summary>Every delay of one delivery that fails every attempt, drawn with <paramref name="random"/>.</summary>
    private static List<TimeSpan> DelaysUntilDeadLetter(Random random)
    {
        var delays = new List<TimeSpan>();
        for (var attempt = 1; ; attempt++)
        {
            var decision = Schedule.AfterFailedAttempt(attempt, random);
            if (decision.DeadLetter)
            {
                Assert.Equal(Schedule.MaxAttempts, attempt);
                return delays;
            }
            Assert.Equal(attempt + 1, decision.NextAttempt);
            delays.Add(decision.Delay);
        }
    }

    [Fact]
    public void Default_tries_twelve_times_over_at_least_24_hours_whatever_the_jitter()
    {
        Assert.Equal(12, Schedule.MaxAttempts);
        Assert.True(Schedule.MinimumSpan >= TimeSpan.FromHours(24), $"minimum span {Schedule.MinimumSpan}");
        Assert.Equal(TimeSpan.FromSeconds(5), Schedule.NominalDelayBeforeAttempt(2));
        Assert.Equal(TimeSpan.FromHours(8), Schedule.NominalDelayBeforeAttempt(12));
    }

    [Fact]
    public void Every_drawn_delay_stays_within_its_jitter_band_and_every_delivery_spans_24_hours()
    {
        var random = new Random(20240611);
        for (var run = 0; run < 2000; run++)
        {
            var delays = DelaysUntilDeadLetter(random);
            for (var i = 0; i < delays.Count; i++)
            {
                var nominal = Schedule.NominalDelayBeforeAttempt(i + 2);
                Assert.InRange(delays[i], nominal * 0.8, nominal * 1.2);
            }
            var total = delays.Aggregate(TimeSpan.Zero, (a, b) => a + b);
            Assert.InRange(total, TimeSpan.FromHours(24), Schedule.MaximumSpan);
        }
    }

    [Fact]
    public void Expected_delays_never_shrink_and_match_the_nominal_ones()
    {
        var random = new Random(7);
        const int runs = 4000;
        var sums = new double[Schedule.MaxAttempts - 1];
        for (var run = 0; run < runs; run++)
        {
            var delays = DelaysUntilDeadLetter(random);
            for (var i = 0; i < delays.Count; i++)
            {
                sums[i] += delays[i].TotalSeconds;
            }
        }
        var means = sums.Select(s => s / runs).ToArray();
        for (var i = 0; i < means.Length; i++)
        {
            var nominal = Schedule.NominalDelayBeforeAttempt(i + 2).TotalSeconds;
            Assert.InRange(means[i], nominal * 0.98, nominal * 1.02);
            if (i > 0)
            {
                Assert.True(means[i] >= means[i - 1] * 0.98, $"mean delay before attempt {i + 2} ({means[i]:0} s) below the one before ({means[i - 1]:0} s)");
            }
        }
    }

    [Fact]
    public void Jitter_spreads_deliveries_that_failed_together()
    {
        var random = new Random(3);
        var delays = Enumerable.Range(0, 100).Select(_ => Schedule.AfterFailedAttempt(6, random).Delay).ToList();

        Assert.True(delays.Distinct().Count() > 90);
        Assert.True(delays.Max() - delays.Min() > TimeSpan.FromMinutes(15), $"spread {delays.Max() - delays.Min()}");
    }

    [Fact]
    public void The_last_attempt_dead_letters()
    {
        var decision = Schedule.AfterFailedAttempt(Schedule.MaxAttempts, new Random(1));

        Assert.True(decision.DeadLetter);
        Assert.Equal(TimeSpan.Zero, decision.Delay);
    }

    [Fact]
    public void Schedules_a_queue_cannot_express_are_refused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new WebhookRetrySchedule([TimeSpan.FromSeconds(5), TimeSpan.FromDays(7)], 0.1));
        Assert.Contains("Delay before attempt 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("7 days", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WebhookRetrySchedule([TimeSpan.FromSeconds(5)], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.AfterFailedAttempt(0, new Random(1)));
    }
}
