using Pdm.DevHost.Configuration;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// The wait between polls of a queue, as the host's queue listener chooses it: none after a poll that found messages
/// (the next batch is fetched as soon as newBatchThreshold allows), and after empty polls a wait that starts at 100 ms
/// and doubles with each further empty poll up to maxPollingInterval. (The host also adds ±20 % jitter so instances do
/// not poll in step; one local instance has no one to fall in step with, so the dev host keeps the sequence exact.)
/// </summary>
internal sealed class PollingBackoff(TimeSpan maximum)
{
    private int _emptyPolls;

    public TimeSpan Next(bool foundMessages)
    {
        if (foundMessages)
        {
            _emptyPolls = 0;
            return TimeSpan.Zero;
        }

        // The exponent is capped so the multiplication cannot overflow long before the maximum caps it anyway.
        var factor = Math.Pow(2, Math.Min(_emptyPolls++, 30));
        var ticks = Math.Min(QueueSettings.MinPollingInterval.Ticks * factor, maximum.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
