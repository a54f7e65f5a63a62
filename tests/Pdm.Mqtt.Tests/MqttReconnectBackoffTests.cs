using Pdm.Mqtt;

namespace Pdm.Mqtt.Tests;

public sealed class MqttReconnectBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(60);

    [Fact]
    public void Delays_stay_between_min_and_max_for_any_attempt()
    {
        var random = new Random(7);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var delay = ReconnectBackoff.NextDelay(attempt, Min, Max, random);
            Assert.InRange(delay, Min, Max);
        }
    }

    [Fact]
    public void Delay_doubles_in_ceiling_and_is_jittered_in_its_upper_half()
    {
        var random = new Random(11);
        var third = Enumerable.Range(0, 200).Select(_ => ReconnectBackoff.NextDelay(3, Min, Max, random)).ToArray();

        // ceiling = 1 s * 2^3 = 8 s; jitter picks from 4..8 s
        Assert.All(third, d => Assert.InRange(d, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)));
        Assert.True(third.Distinct().Count() > 100, "delays should differ so clients do not reconnect in lockstep");
    }

    [Fact]
    public void Late_attempts_reach_the_maximum_region()
    {
        var delay = ReconnectBackoff.NextDelay(30, Min, Max, new Random(3));

        Assert.InRange(delay, TimeSpan.FromSeconds(30), Max);
    }
}
