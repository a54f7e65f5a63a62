using Pdm.Telemetry;
using Pdm.Analytics.Health;

namespace Pdm.Alerts.Evaluation;

/// <summary>A sensor and its share of the anomaly score.</summary>
public sealed record SensorShare(string Sensor, double Contribution);

/// <summary>
/// The anomaly score of a sample as the evaluator needs it: the ensemble's parts, the ISO zone and the top sensors
/// (ingest maps its stored score rows to this, so the rules know nothing of storage).
/// </summary>
public sealed record ScoreSnapshot
{
    public required DateTimeOffset At { get; init; }
    public required double Score { get; init; }
    public required double Threshold { get; init; }
    public required double IsolationForest { get; init; }
    public required double Statistical { get; init; }
    public required double Temporal { get; init; }

    /// <summary>The machine's worst ISO 10816 zone in this sample; null without a vibration sensor.</summary>
    public VibrationZone? IsoZone { get; init; }

    public required string Model { get; init; }
    public required IReadOnlyList<SensorShare> TopSensors { get; init; }
}

/// <summary>The latest prediction of a machine, in hours (machine time).</summary>
public sealed record PredictionSnapshot
{
    public required DateTimeOffset At { get; init; }
    public required string Health { get; init; }
    public double? RulHours { get; init; }
    public double? RulP10Hours { get; init; }
    public double? RulP90Hours { get; init; }
    public double? FailureProbability24h { get; init; }
    public double? FailureProbability48h { get; init; }
    public required RiskLevel Risk { get; init; }

    /// <summary>The conditions of the risk rule that set the risk level.</summary>
    public required string RiskReason { get; init; }

    public static PredictionSnapshot From(MachinePrediction prediction, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        return new PredictionSnapshot
        {
            At = at,
            Health = prediction.Health,
            RulHours = prediction.RulSeconds / 3600,
            RulP10Hours = prediction.RulP10Seconds / 3600,
            RulP90Hours = prediction.RulP90Seconds / 3600,
            FailureProbability24h = prediction.FailureProbability24h,
            FailureProbability48h = prediction.FailureProbability48h,
            Risk = prediction.Risk,
            RiskReason = prediction.Explanation.Risk,
        };
    }
}

/// <summary>
/// Why a rule fires, so the message alone tells a technician where to look: a one-line summary, the sensors it is
/// about, and the machine's latest anomaly score (ensemble parts, ISO zone, top sensors) and prediction.
/// </summary>
public sealed record AlertExplanation
{
    public required string Summary { get; init; }

    /// <summary>The sensors the rule itself points at (the limit's sensor, the stuck ones, the vibration sensor).</summary>
    public IReadOnlyList<string> Sensors { get; init; } = [];

    public ScoreSnapshot? Score { get; init; }
    public PredictionSnapshot? Prediction { get; init; }
}
