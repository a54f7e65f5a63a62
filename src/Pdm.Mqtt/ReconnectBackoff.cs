namespace Pdm.Mqtt;

/// <summary>Exponential reconnect delays with jitter, so a fleet that lost its broker does not return in lockstep.</summary>
public static class ReconnectBackoff
{
    /// <summary>
    /// The delay before reconnect attempt <paramref name="attempt"/> (0 for the first): a random value in the upper
    /// half of <c>min * 2^attempt</c>, kept within <paramref name="min"/>..<paramref name="max"/>.
    /// </summary>
    public static TimeSpan NextDelay(int attempt, TimeSpan min, TimeSpan max, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        ArgumentNullException.ThrowIfNull(random);

        var ceilingTicks = min.Ticks * Math.Pow(2, Math.Min(attempt, 40));
        var ceiling = Math.Min(ceilingTicks, max.Ticks);
        var jittered = ceiling / 2 + random.NextDouble() * ceiling / 2;
        return TimeSpan.FromTicks((long)Math.Clamp(jittered, min.Ticks, max.Ticks));
    }
}
