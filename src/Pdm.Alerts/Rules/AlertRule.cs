using System.Text.Json.Serialization;

namespace Pdm.Alerts.Rules;

/// <summary>How urgent an alert is. Ordered: a higher value is more urgent; an open alert only moves up.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("LOW")] Low = 1,
    [JsonStringEnumMemberName("MEDIUM")] Medium = 2,
    [JsonStringEnumMemberName("HIGH")] High = 3,
    [JsonStringEnumMemberName("CRITICAL")] Critical = 4,
}

/// <summary>What a rule watches: a machine (its samples, predictions and silence) or a device (gateway).</summary>
public enum RuleSubject
{
    Machine,
    Device,
}

// Members with a default use set, not init: the source-generated reader would overwrite an init member's default
// with zero when the JSON leaves it out.

/// <summary>
/// One alert rule. <see cref="Id"/> names it within the tenant's rule set (overrides and alerts refer to it);
/// the JSON discriminator <c>kind</c> says what it watches. Most kinds can <c>escalate</c> to a higher severity when
/// the condition gets worse; an alert never de-escalates while open.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(AnomalyScoreRule), AnomalyScoreRule.KindName)]
[JsonDerivedType(typeof(IsoZoneRule), IsoZoneRule.KindName)]
[JsonDerivedType(typeof(HealthStateRule), HealthStateRule.KindName)]
[JsonDerivedType(typeof(FailureProbabilityRule), FailureProbabilityRule.KindName)]
[JsonDerivedType(typeof(RulBelowRule), RulBelowRule.KindName)]
[JsonDerivedType(typeof(SensorLimitsRule), SensorLimitsRule.KindName)]
[JsonDerivedType(typeof(MachineSilentRule), MachineSilentRule.KindName)]
[JsonDerivedType(typeof(DeviceOfflineRule), DeviceOfflineRule.KindName)]
[JsonDerivedType(typeof(StuckSensorRule), StuckSensorRule.KindName)]
[JsonDerivedType(typeof(DroppedSensorRule), DroppedSensorRule.KindName)]
[JsonDerivedType(typeof(RejectedMessagesRule), RejectedMessagesRule.KindName)]
public abstract record AlertRule
{
    public required string Id { get; init; }

    public required AlertSeverity Severity { get; init; }

    public bool Enabled { get; set; } = true;

    /// <summary>The JSON <c>kind</c> of this rule.</summary>
    [JsonIgnore]
    public abstract string Kind { get; }

    [JsonIgnore]
    public virtual RuleSubject Subject => RuleSubject.Machine;
}

/// <summary>Fires when at least <see cref="N"/> of the last <see cref="M"/> samples were anomalous; clears at
/// <see cref="ClearAt"/> or fewer (default n / 2), so a window hovering around n does not flap.</summary>
public sealed record SampleWindow
{
    public required int N { get; init; }
    public required int M { get; init; }
    public int? ClearAt { get; init; }

    /// <summary>The largest window the compact evaluation state holds (one bit per sample).</summary>
    public const int MaxM = 64;

    [JsonIgnore]
    public int EffectiveClearAt => ClearAt ?? N / 2;
}

/// <summary>Anomaly score above the model's threshold (times <see cref="ThresholdFactor"/>) for N of the last M samples.</summary>
public sealed record AnomalyScoreRule : AlertRule
{
    public const string KindName = "anomaly_score";
    [JsonIgnore]
    public override string Kind => KindName;

    public required SampleWindow Window { get; init; }

    /// <summary>Scales the model's calibrated threshold: above 1 asks for stronger evidence.</summary>
    public double ThresholdFactor { get; set; } = 1.0;

    public AnomalyEscalation? Escalate { get; init; }
}

/// <summary>Escalates when <see cref="N"/> or more of the window's samples are anomalous.</summary>
public sealed record AnomalyEscalation(int N, AlertSeverity Severity);

/// <summary>
/// A vibration sensor in ISO 10816 zone <see cref="Zone"/> (C or D) or worse, as the scorer classified it (the
/// machine's zone boundaries). Clears after <see cref="ClearSamples"/> consecutive samples below the zone, so a value
/// hovering on a boundary does not flap.
/// </summary>
public sealed record IsoZoneRule : AlertRule
{
    public const string KindName = "iso_zone";
    [JsonIgnore]
    public override string Kind => KindName;

    public string Zone { get; set; } = "C";

    /// <summary>When set, fires only once N of the last M samples were in the zone: ISO 10816 judges a steady
    /// vibration level, so a single spike (a knock, a glitch of the measurement chain) is not a zone change.</summary>
    public SampleWindow? Window { get; init; }

    public int ClearSamples { get; set; } = 5;
    public IsoZoneEscalation? Escalate { get; init; }
}

public sealed record IsoZoneEscalation(string Zone, AlertSeverity Severity);

/// <summary>The predicted health state is one of <see cref="States"/>; clears when a prediction names another known
/// state (UNKNOWN changes nothing).</summary>
public sealed record HealthStateRule : AlertRule
{
    public const string KindName = "health_state";
    [JsonIgnore]
    public override string Kind => KindName;

    public required IReadOnlyList<string> States { get; init; }
    public HealthEscalation? Escalate { get; init; }
}

public sealed record HealthEscalation(IReadOnlyList<string> States, AlertSeverity Severity);

/// <summary>The predicted probability of failure within <see cref="Horizon"/> ("24h" or "48h") is at least
/// <see cref="Probability"/>; clears below <see cref="ClearBelow"/> (default probability − 0.1).</summary>
public sealed record FailureProbabilityRule : AlertRule
{
    public const string KindName = "failure_probability";
    [JsonIgnore]
    public override string Kind => KindName;

    public required string Horizon { get; init; }
    public required double Probability { get; init; }
    public double? ClearBelow { get; init; }
    public ProbabilityEscalation? Escalate { get; init; }

    [JsonIgnore]
    public double EffectiveClearBelow => ClearBelow ?? Math.Max(0, Probability - 0.1);
}

public sealed record ProbabilityEscalation(double Probability, AlertSeverity Severity);

/// <summary>Predicted remaining useful life below <see cref="Hours"/> (machine time). <see cref="Estimate"/> is
/// "median" or "p10" (the pessimistic bound). Clears at <see cref="ClearAboveHours"/> or more (default hours × 1.25).</summary>
public sealed record RulBelowRule : AlertRule
{
    public const string KindName = "rul_below";
    [JsonIgnore]
    public override string Kind => KindName;

    public required double Hours { get; init; }
    public string Estimate { get; set; } = "median";
    public double? ClearAboveHours { get; init; }
    public RulEscalation? Escalate { get; init; }

    [JsonIgnore]
    public double EffectiveClearAboveHours => ClearAboveHours ?? Hours * 1.25;
}

public sealed record RulEscalation(double Hours, AlertSeverity Severity);

/// <summary>
/// <see cref="Sensor"/> below <see cref="Low"/> or above <see cref="High"/> (catalog units). Hysteresis: it clears
/// only once back inside by <see cref="ClearBand"/> (above low + band and below high − band).
/// </summary>
public sealed record SensorLimitsRule : AlertRule
{
    public const string KindName = "sensor_limits";
    [JsonIgnore]
    public override string Kind => KindName;

    public required string Sensor { get; init; }
    public double? Low { get; init; }
    public double? High { get; init; }
    public double ClearBand { get; init; }
    public LimitsEscalation? Escalate { get; init; }
}

public sealed record LimitsEscalation(double? Low, double? High, AlertSeverity Severity);

/// <summary>No sample from the machine for longer than <see cref="AfterMinutes"/> (checked on the clock tick; not
/// raised while the machine's device is offline, which has its own alert).</summary>
public sealed record MachineSilentRule : AlertRule
{
    public const string KindName = "machine_silent";
    [JsonIgnore]
    public override string Kind => KindName;

    public required double AfterMinutes { get; init; }
}

/// <summary>No message at all from a device (gateway) for longer than <see cref="AfterMinutes"/>.</summary>
public sealed record DeviceOfflineRule : AlertRule
{
    public const string KindName = "device_offline";
    [JsonIgnore]
    public override string Kind => KindName;
    [JsonIgnore]
    public override RuleSubject Subject => RuleSubject.Device;

    public required double AfterMinutes { get; init; }
}

/// <summary>A sensor repeating exactly the same value for at least <see cref="Samples"/> samples and
/// <see cref="Minutes"/> minutes (both must hold). <see cref="Ignore"/> lists sensors that are constant by design.</summary>
public sealed record StuckSensorRule : AlertRule
{
    public const string KindName = "stuck_sensor";
    [JsonIgnore]
    public override string Kind => KindName;

    public required int Samples { get; init; }
    public required double Minutes { get; init; }
    public IReadOnlyList<string> Ignore { get; set; } = [];
}

/// <summary>A sensor the machine sent before is missing from <see cref="Samples"/> consecutive samples.</summary>
public sealed record DroppedSensorRule : AlertRule
{
    public const string KindName = "dropped_sensor";
    [JsonIgnore]
    public override string Kind => KindName;

    public required int Samples { get; init; }
    public IReadOnlyList<string> Ignore { get; set; } = [];
}

/// <summary>A device's rejected messages in the last <see cref="WindowMinutes"/> exceed <see cref="MaxShare"/> of
/// its messages, counting only once at least <see cref="MinRejected"/> were rejected.</summary>
public sealed record RejectedMessagesRule : AlertRule
{
    public const string KindName = "rejected_messages";
    [JsonIgnore]
    public override string Kind => KindName;
    [JsonIgnore]
    public override RuleSubject Subject => RuleSubject.Device;

    public required int WindowMinutes { get; init; }
    public required double MaxShare { get; init; }
    public int MinRejected { get; set; } = 1;
}
