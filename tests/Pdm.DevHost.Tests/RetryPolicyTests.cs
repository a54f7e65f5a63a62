using Pdm.DevHost.Configuration;

namespace Pdm.DevHost.Tests;

public class RetryPolicyTests
{
    [Fact]
    public void Exponential_backoff_doubles_from_the_minimum_up_to_the_maximum()
    {
        var policy = new RetryPolicy
        {
            Strategy = RetryStrategy.ExponentialBackoff,
            MaxRetryCount = 5,
            MinimumInterval = TimeSpan.FromSeconds(1),
            MaximumInterval = TimeSpan.FromSeconds(10),
        };

        var delays = Enumerable.Range(1, 5).Select(policy.DelayBefore).Select(d => d.TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 10], delays);
    }

    [Fact]
    public void Max_retry_count_bounds_retries_and_minus_one_retries_forever()
    {
        var limited = new RetryPolicy { Strategy = RetryStrategy.FixedDelay, MaxRetryCount = 2 };
        var forever = limited with { MaxRetryCount = -1 };

        Assert.True(limited.AllowsRetry(1));
        Assert.False(limited.AllowsRetry(2));
        Assert.True(forever.AllowsRetry(1000));
    }
}
