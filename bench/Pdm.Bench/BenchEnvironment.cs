namespace Pdm.Bench;

/// <summary>Function app settings for benchmarks that measure one function.</summary>
internal static class BenchEnvironment
{
    /// <summary>An NCRONTAB that does not fire during a run (midnight on January 1).</summary>
    public const string Never = "0 0 0 1 1 *";

    /// <summary>
    /// The settings with every timer (every <c>*_SCHEDULE</c>) but <paramref name="keep"/> moved to <see cref="Never"/>:
    /// those timers are not what is measured, and one of them landing inside a measured window at random makes runs
    /// incomparable (the Predict timer's first run, JIT included, took most of a core inside the delivery burst).
    /// </summary>
    public static Dictionary<string, string> TimersOff(IReadOnlyDictionary<string, string> settings, params string[] keep) =>
        settings.ToDictionary(s => s.Key,
            s => s.Key.EndsWith("_SCHEDULE", StringComparison.Ordinal) && !keep.Contains(s.Key) ? Never : s.Value);
}
