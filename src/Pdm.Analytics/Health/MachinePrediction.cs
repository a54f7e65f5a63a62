using Pdm.Telemetry;

namespace Pdm.Analytics.Health;

/// <summary>How urgently a machine needs attention; see <see cref="MachinePredictor.AssessRisk"/> for the rule.</summary>
public enum RiskLevel
{
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>What the anomaly scores of a machine's recent window say: how many there were, how many were anomalous, the worst ISO 10816 zone.</summary>
/// <param name="WorstZone">A..D, or None when the machine has no vibration sensor (or no scores).</param>
public sealed record AnomalyPicture(int Scores, int Anomalies, VibrationZone WorstZone)
{
    public static AnomalyPicture None { get; } = new(0, 0, VibrationZone.None);

    /// <summary>Share of the window's scores that were anomalous (0 without scores).</summary>
    public double Share => Scores == 0 ? 0 : (double)Anomalies / Scores;
}

/// <summary>A sensor's signed part of a prediction (in the prediction's units); "age" is the time the current life has run.</summary>
public sealed record SensorContribution(string Sensor, double Contribution);

/// <summary>The remaining-life prediction split by sensor: ExpectedSeconds + sum(Sensors) == RawSeconds.</summary>
/// <param name="RawSeconds">The model output before clamping to [0, cap] (equal to the RUL unless clamped).</param>
public sealed record RulAttribution(double ExpectedSeconds, double RawSeconds, IReadOnlyList<SensorContribution> Sensors);

/// <summary>The predicted state's raw score (log-odds before the softmax) split by sensor: ExpectedScore + sum(Sensors) == Score.</summary>
public sealed record StateAttribution(string State, double Score, double ExpectedScore, IReadOnlyList<SensorContribution> Sensors);

/// <summary>Why a prediction says what it says. Sensor lists hold every sensor, largest absolute contribution first.</summary>
public sealed record PredictionExplanation
{
    /// <summary>The conditions of the risk rule that set the risk level.</summary>
    public required string Risk { get; init; }

    /// <summary>"state-model", "anomaly-scores" (ISO zone and anomaly share) or "none".</summary>
    public required string HealthSource { get; init; }

    public StateAttribution? Health { get; init; }

    public RulAttribution? Rul { get; init; }

    public required AnomalyPicture Anomalies { get; init; }

    /// <summary>Samples the models saw: the machine's current life within the window.</summary>
    public required int Samples { get; init; }
}

/// <summary>
/// Health, remaining useful life and failure probabilities of one machine at one time, with their explanation.
/// Times are seconds of machine time, the window's time, like the 24 h and 48 h horizons (see
/// <see cref="MachinePredictor.Predict"/>).
/// </summary>
public sealed record MachinePrediction
{
    /// <summary>HEALTHY, WARNING, FAULTY, BROKEN (or the state model's own labels), or UNKNOWN when nothing is known.</summary>
    public required string Health { get; init; }

    /// <summary>Every class's probability when a state model decided; empty otherwise.</summary>
    public required IReadOnlyDictionary<string, double> HealthProbabilities { get; init; }

    public double? RulSeconds { get; init; }

    /// <summary>Pessimistic bound: the true RUL is below it in 10 % of the model's validation cases.</summary>
    public double? RulP10Seconds { get; init; }

    public double? RulP90Seconds { get; init; }

    public double? FailureProbability24h { get; init; }

    public double? FailureProbability48h { get; init; }

    public required RiskLevel Risk { get; init; }

    public required PredictionExplanation Explanation { get; init; }
}
