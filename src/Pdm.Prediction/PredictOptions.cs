using System.ComponentModel.DataAnnotations;

namespace Pdm.Prediction;

/// <summary>Settings of the Predict timer (environment variables <c>Pdm__Predict__TimeScale</c> and so on).</summary>
public sealed class PredictOptions
{
    public const string Section = "Pdm:Predict";

    /// <summary>
    /// Machine time per second of the readings' clock: 1 for real machines, 1440 for the demo plant (docs/demo.md).
    /// The window's times are multiplied by it before the models see them, so remaining life is machine time and the
    /// 24 h and 48 h horizons are 24 h and 48 h of the machines' time; <see cref="History"/> and
    /// <see cref="AnomalyWindow"/> are machine time too.
    /// </summary>
    [Range(1e-6, 1e6)] public double TimeScale { get; set; } = 1;

    /// <summary>How far back (machine time) a machine's window reaches; the models see its current life within it.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")] public TimeSpan History { get; set; } = TimeSpan.FromHours(48);

    /// <summary>At most this many of the latest samples per machine, whatever <see cref="History"/> allows.</summary>
    [Range(10, 1_000_000)] public int MaxSamples { get; set; } = 5000;

    /// <summary>Wall-clock span: machines with a reading this recent are predicted (a question about the data feed).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")] public TimeSpan RecentWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How far back (machine time) a machine's anomaly scores give its anomaly share and worst ISO zone. Machine time,
    /// so that on a compressed twin a zone D from before a replacement does not outlive the machine; never more
    /// than <see cref="RecentWindow"/> of the readings' clock.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")] public TimeSpan AnomalyWindow { get; set; } = TimeSpan.FromMinutes(10);
}
