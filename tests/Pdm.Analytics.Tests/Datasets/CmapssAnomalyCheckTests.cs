using Pdm.Analytics.Datasets;

namespace Pdm.Analytics.Tests.Datasets;

/// <summary>
/// The anomaly ensemble held out on real engines (`pdm bench anomaly-heldout`): each FD001 training engine's model is
/// fitted on its first 100 cycles; later cycles with more than 125 left are healthy. Before cross-fitted calibration
/// 35.8 % of healthy cycles alarmed (15.7 % under the 4-of-5 rule); after, 1.9 % and none.
/// </summary>
public sealed class CmapssAnomalyCheckTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public void Fd001_healthy_cycles_rarely_alarm_and_degrading_engines_are_detected()
    {
        var result = CmapssAnomalyCheck.Evaluate(CmapssDatasetTests.Directory);

        Assert.Empty(result.Errors);
        Assert.Equal(100, result.Engines);
        Assert.InRange(result.HealthyCycles, 1000, 1500);
        var single = result.SingleSample!;
        var rule = result.Rule!;
        var summary = $"single {single}; rule {rule}";
        // The target false-positive rate is 1 %; the healthy cycles nearest the knee already drift with wear.
        Assert.True(single.FalseAlarmRate <= 0.04, summary);
        Assert.True(rule.FalseAlarmRate <= 0.01, summary);
        Assert.True(rule.DetectedShare >= 0.95, summary);
        Assert.True(rule.MedianLeadCycles >= 25, summary);
    }

    [Fact]
    public void A_rule_window_that_cannot_fire_is_refused()
    {
        var result = CmapssAnomalyCheck.Evaluate(CmapssDatasetTests.Directory,
            options: new CmapssAnomalyCheckOptions { RuleN = 6, RuleM = 5 });

        Assert.Contains(result.Errors, e => e.Contains("1 <= n <= m", StringComparison.Ordinal));
    }
}
