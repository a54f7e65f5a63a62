namespace Pdm.Cli;

/// <summary>
/// A crash-loop guard for a child process that is restarted when it dies: at most <paramref name="restarts"/>
/// restarts within any <paramref name="window"/>. A child that keeps dying faster than that has a problem a restart
/// will not fix, and the caller stops instead of restarting it forever.
/// </summary>
internal sealed class RestartBudget(int restarts, TimeSpan window, TimeProvider clock)
{
    private readonly Queue<DateTimeOffset> _recent = new();

    public int Restarts => restarts;

    public TimeSpan Window => window;

    /// <summary>Takes one restart from the budget; false when the window's restarts are used up.</summary>
    public bool TryTake()
    {
        var now = clock.GetUtcNow();
        while (_recent.Count > 0 && now - _recent.Peek() >= window)
        {
            _recent.Dequeue();
        }
        if (_recent.Count >= restarts)
        {
            return false;
        }
        _recent.Enqueue(now);
        return true;
    }
}
