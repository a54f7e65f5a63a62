namespace Pdm.DevHost.Configuration;

public enum RetryStrategy
{
    FixedDelay,
    ExponentialBackoff,
}

/// <summary>A function-level retry policy from function.json ("retry"), as the host applies it to Event Hubs and timer triggers.</summary>
public sealed record RetryPolicy
{
    public required RetryStrategy Strategy { get; init; }
    /// <summary>Retries after the first attempt; -1 retries forever.</summary>
    public required int MaxRetryCount { get; init; }
    public TimeSpan DelayInterval { get; init; }
    public TimeSpan MinimumInterval { get; init; }
    public TimeSpan MaximumInterval { get; init; }

    public bool AllowsRetry(int retriesDone) => MaxRetryCount < 0 || retriesDone < MaxRetryCount;

    /// <summary>Delay before retry number <paramref name="retryNumber"/> (1 for the first retry).</summary>
    public TimeSpan DelayBefore(int retryNumber)
    {
        if (Strategy == RetryStrategy.FixedDelay)
        {
            return DelayInterval;
        }

        // Doubling from the minimum, capped: the exponent is capped too so the multiplication cannot overflow.
        var factor = Math.Pow(2, Math.Min(retryNumber - 1, 30));
        var ticks = Math.Min(MinimumInterval.Ticks * factor, MaximumInterval.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
