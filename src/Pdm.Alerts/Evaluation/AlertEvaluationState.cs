using System.Text.Json;
using System.Text.Json.Serialization;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Evaluation;

/// <summary>
/// What the evaluator remembers about one machine (or device) between evaluations: the last sample's time, the latest
/// score and prediction (for explanations), and each rule's own state. Stored per machine as small JSON
/// (<see cref="ToBytes"/>, typically under 1 KB) in the transaction that stores the scores, like the scorer state;
/// <see cref="Version"/> lets a later release read or discard an older layout.
/// </summary>
public sealed class AlertEvaluationState
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("v")]
    public int Version { get; set; } = CurrentVersion;

    /// <summary>The time of the last sample evaluated; samples not after it are not evaluated again.</summary>
    public DateTimeOffset? LastSample { get; set; }

    /// <summary>The time of the last message from a device (device states only).</summary>
    public DateTimeOffset? LastMessage { get; set; }

    public ScoreSnapshot? Score { get; set; }
    public PredictionSnapshot? Prediction { get; set; }

    public Dictionary<string, RuleState> Rules { get; set; } = new(StringComparer.Ordinal);

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, AlertsJson.Default.AlertEvaluationState);

    /// <summary>A stored state, or a fresh one (with the reason) when it is of another version or unreadable.</summary>
    public static AlertEvaluationState Read(ReadOnlySpan<byte> bytes, out string? problem)
    {
        problem = null;
        if (bytes.IsEmpty)
        {
            return new AlertEvaluationState();
        }
        try
        {
            var state = JsonSerializer.Deserialize(bytes, AlertsJson.Default.AlertEvaluationState);
            if (state is null || state.Version != CurrentVersion)
            {
                problem = $"state version {state?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}, expected {CurrentVersion}";
                return new AlertEvaluationState();
            }
            return state;
        }
        catch (JsonException e)
        {
            problem = $"unreadable state: {e.Message}";
            return new AlertEvaluationState();
        }
    }

    internal AlertEvaluationState Clone() => Read(ToBytes(), out _);
}

/// <summary>One rule's state. Members a kind does not use stay null and are not written.</summary>
public sealed class RuleState
{
    /// <summary>Fingerprint of the rule definition this state belongs to; a changed rule starts its window afresh.</summary>
    public required string Def { get; set; }

    /// <summary>The rule's kind, kept so a rule removed while firing can still be named when it clears.</summary>
    public string? Kind { get; set; }

    public bool Firing { get; set; }
    public DateTimeOffset? Since { get; set; }
    public DateTimeOffset? Seen { get; set; }
    public AlertSeverity? Severity { get; set; }
    public double? Value { get; set; }
    public double? Peak { get; set; }
    public WorseWhen? Worse { get; set; }
    public string? Summary { get; set; }
    public List<string>? On { get; set; }

    /// <summary>N of M: one bit per sample, newest in bit 0, and how many bits are filled.</summary>
    public ulong? Bits { get; set; }
    public int? Filled { get; set; }

    /// <summary>Consecutive samples that were below the condition (ISO zone hysteresis).</summary>
    public int? Streak { get; set; }

    /// <summary>Stuck and dropped sensors: per sensor.</summary>
    public Dictionary<string, SensorTrack>? Sensors { get; set; }

    /// <summary>Rejected messages: per-minute counts within the window.</summary>
    public List<MinuteCounts>? Minutes { get; set; }
}

/// <summary>A sensor's last value, since when it has had it and how many samples in a row; samples it was missing from.</summary>
public sealed class SensorTrack
{
    public double? Last { get; set; }
    public DateTimeOffset? Since { get; set; }
    public int Repeats { get; set; }
    public int Missing { get; set; }
}

/// <summary>Accepted and rejected messages of one minute (Unix minutes).</summary>
public sealed class MinuteCounts
{
    public long Minute { get; set; }
    public int Accepted { get; set; }
    public int Rejected { get; set; }
}
