using System.ComponentModel.DataAnnotations;

namespace Pdm.Simulator;

/// <summary>How a simulated gateway sends its fleet's telemetry.</summary>
public sealed class DeviceSimulatorOptions
{
    public const string Section = "Simulator";

    /// <summary>IoT Hub device id; the messages go to this device's events topic.</summary>
    [Required]
    public string DeviceId { get; set; } = "";

    /// <summary>Written as the v1 <c>gateway</c> field when set.</summary>
    public string? GatewayId { get; set; }

    /// <summary>Simulated time between two messages (the sample interval).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How much faster than real time the simulation runs: the wall-clock wait is Interval / SpeedUp.</summary>
    [Range(0.001, 1_000_000)]
    public double SpeedUp { get; set; } = 1;

    /// <summary>
    /// Simulated time of the first message. Null means the clock's current time, except for a limited fast run
    /// (burst, or SpeedUp above 1) which starts far enough back that its last message lands at the current time:
    /// ingest rejects samples more than a few minutes ahead of their arrival (TelemetryDecoder.MaxClockSkew).
    /// </summary>
    public DateTimeOffset? Start { get; set; }

    /// <summary>Stop after this many messages; null runs until cancelled.</summary>
    [Range(1, long.MaxValue)]
    public long? MessageLimit { get; set; }

    /// <summary>Share of messages (0..1) sent malformed on purpose, so the pipeline shows rejects.</summary>
    [Range(0.0, 1.0)]
    public double MalformedRate { get; set; }

    /// <summary>Seed of the choice of which messages are malformed and how.</summary>
    public int MalformedSeed { get; set; } = 1;

    /// <summary>Load mode: publish as fast as the broker acknowledges, ignoring Interval pacing and SpeedUp.</summary>
    public bool Burst { get; set; }

    /// <summary>In burst mode, the most publishes awaiting the broker's acknowledgement at once.</summary>
    [Range(1, 10_000)]
    public int MaxInFlight { get; set; } = 16;
}
