using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Health;
using Pdm.Telemetry;

namespace Pdm.Alerts.Tests;

/// <summary>Samples, scores and predictions for the tests.</summary>
internal static class Build
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset At(int seconds) => T0.AddSeconds(seconds);

    public static ScoredSample Sample(int second, double score = 0.1, string? zone = "A", params (string Sensor, double Value)[] values) =>
        new(new MachineSample
        {
            MachineId = "m1",
            Timestamp = At(second),
            Sequence = second,
            Values = values.Length == 0 ? [new SensorValue("temperature", 60 + (second % 7)), new SensorValue("vibration", 1.0)]
                : [.. values.Select(v => new SensorValue(v.Sensor, v.Value))],
        }, Score(second, score, zone));

    public static ScoreSnapshot Score(int second, double score, string? zone = "A") => new()
    {
        At = At(second),
        Score = score,
        Threshold = 0.5,
        IsolationForest = score / 2,
        Statistical = score / 3,
        Temporal = score / 6,
        IsoZone = VibrationZoneText.ParseOrNull(zone),
        Model = "baseline",
        TopSensors = [new SensorShare("vibration", 0.7), new SensorShare("temperature", 0.3)],
    };

    public static MachinePrediction Prediction(string health = "HEALTHY", double? p24 = 0.1, double? rulHours = 100,
        double? rulP10Hours = 80) => new()
    {
        Health = health,
        HealthProbabilities = new Dictionary<string, double>(),
        RulSeconds = rulHours * 3600,
        RulP10Seconds = rulP10Hours * 3600,
        RulP90Seconds = rulHours * 3600 * 1.3,
        FailureProbability24h = p24,
        FailureProbability48h = p24 is { } p ? Math.Min(1, p * 1.5) : null,
        Risk = RiskLevel.Medium,
        Explanation = new PredictionExplanation
        {
            Risk = "test",
            HealthSource = "state-model",
            Anomalies = AnomalyPicture.None,
            Samples = 10,
        },
    };

    /// <summary>A rule parsed from JSON, validated.</summary>
    public static AlertRule Rule(string json)
    {
        var result = RuleSetJson.Parse($$"""{"version":1,"rules":[{{json}}]}""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        return result.RuleSet!.Rules[0];
    }

    public static IEnumerable<(TriggerKind Kind, DateTimeOffset At, AlertSeverity Severity)> Transitions(AlertEvaluation e) =>
        e.Triggers.Select(t => (t.Kind, t.At, t.Severity));
}
