using System.Globalization;
using Pdm.Analytics.Rul;
using Pdm.Telemetry;

namespace Pdm.Analytics.Health;

/// <summary>
/// Turns a machine's recent samples, its production models (either may be missing) and its recent anomaly scores
/// into a <see cref="MachinePrediction"/>. Pure: no clock, no I/O.
/// <list type="bullet">
/// <item>Health: the state model's most likely class at the last sample. Without one, from the anomaly scores: ISO
/// zone D or at least half of the window's scores anomalous is FAULTY, zone C or at least a tenth is WARNING, any
/// other zone or scores is HEALTHY, nothing at all is UNKNOWN.</item>
/// <item>Current life: a machine that broke and was replaced starts a new life, and the models were trained on
/// lives from new. With a state model, the samples after the last one it classifies BROKEN (when the machine is
/// running again) are the current life; otherwise the whole window is.</item>
/// <item>RUL in seconds of the window's time, with the 10 % and 90 % quantiles of the model's validation
/// residuals, and the failure probabilities within 24 h and 48 h of that time. The window's time is machine time:
/// for a compressed twin the caller converts the readings' clock first (see FleetPredictor), so the models, trained
/// on machine time, and the horizons mean what they say.</item>
/// <item>Risk: <see cref="AssessRisk"/>. Without a RUL model the probabilities are null and the risk rests on health,
/// zone and anomaly share alone.</item>
/// </list>
/// </summary>
public static class MachinePredictor
{
    public const string Healthy = "HEALTHY";
    public const string Warning = "WARNING";
    public const string Faulty = "FAULTY";
    public const string Broken = "BROKEN";
    public const string Unknown = "UNKNOWN";

    private const double Hour = 3600;

    public static MachinePrediction Predict(MachineWindow window, StateModel? stateModel, RulModel? rulModel,
        AnomalyPicture anomalies)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(anomalies);
        if (window.Length == 0)
        {
            throw new ArgumentException($"Machine {window.MachineId}: the window has no samples.", nameof(window));
        }

        var lifeStart = stateModel is null ? 0 : CurrentLifeStart(stateModel.Predict(window.ToUnit(stateModel.Features.InputNames)).States);

        string health;
        string healthSource;
        IReadOnlyDictionary<string, double> probabilities = new Dictionary<string, double>();
        StateAttribution? stateAttribution = null;
        if (stateModel is not null)
        {
            var state = stateModel.ExplainLast(window.ToUnit(stateModel.Features.InputNames, lifeStart));
            health = state.State;
            healthSource = "state-model";
            probabilities = stateModel.Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => state.Probabilities[p.i], StringComparer.Ordinal);
            stateAttribution = new StateAttribution(state.State, state.Score, state.ExpectedValue,
                SensorAttribution.BySensor(stateModel.Features, state.Contributions));
        }
        else
        {
            health = HealthFromAnomalies(anomalies);
            healthSource = health == Unknown ? "none" : "anomaly-scores";
        }

        double? rul = null, p10 = null, p90 = null, p24 = null, p48 = null;
        RulAttribution? rulAttribution = null;
        if (rulModel is not null)
        {
            var explanation = rulModel.ExplainLast(window.ToUnit(rulModel.Features.InputNames, lifeStart));
            rul = explanation.Prediction;
            p10 = rulModel.Uncertainty.Quantile(explanation.Prediction, 0.1);
            p90 = rulModel.Uncertainty.Quantile(explanation.Prediction, 0.9);
            p24 = rulModel.FailureProbability(explanation.Prediction, 24 * Hour);
            p48 = rulModel.FailureProbability(explanation.Prediction, 48 * Hour);
            rulAttribution = new RulAttribution(explanation.ExpectedValue, explanation.RawPrediction,
                SensorAttribution.BySensor(rulModel.Features, explanation.Contributions));
        }

        var (risk, reason) = AssessRisk(health, p24, p48, anomalies);
        return new MachinePrediction
        {
            Health = health,
            HealthProbabilities = probabilities,
            RulSeconds = rul,
            RulP10Seconds = p10,
            RulP90Seconds = p90,
            FailureProbability24h = p24,
            FailureProbability48h = p48,
            Risk = risk,
            Explanation = new PredictionExplanation
            {
                Risk = reason,
                HealthSource = healthSource,
                Health = stateAttribution,
                Rul = rulAttribution,
                Anomalies = anomalies,
                Samples = window.Length - lifeStart,
            },
        };
    }

    /// <summary>
    /// The risk rule: the highest level any condition reaches.
    /// <list type="bullet">
    /// <item>CRITICAL: health BROKEN, or P(failure within 24 h) &gt;= 0.5.</item>
    /// <item>HIGH: health FAULTY, P(24 h) &gt;= 0.2, P(48 h) &gt;= 0.5, or ISO zone D.</item>
    /// <item>MEDIUM: health WARNING, P(48 h) &gt;= 0.2, ISO zone C, or at least 10 % of the recent scores anomalous.</item>
    /// <item>LOW: none of these (also when nothing is known).</item>
    /// </list>
    /// Returns the level and the conditions that reached it.
    /// </summary>
    public static (RiskLevel Risk, string Reason) AssessRisk(string health, double? failure24h, double? failure48h, AnomalyPicture anomalies)
    {
        ArgumentNullException.ThrowIfNull(anomalies);
        var conditions = new List<(RiskLevel Level, string Reason)>();
        void Check(bool condition, RiskLevel level, string reason)
        {
            if (condition)
            {
                conditions.Add((level, reason));
            }
        }

        Check(health == Broken, RiskLevel.Critical, "health BROKEN");
        Check(failure24h >= 0.5, RiskLevel.Critical, $"P(failure within 24 h) {Percent(failure24h)} >= 50 %");
        Check(health == Faulty, RiskLevel.High, "health FAULTY");
        Check(failure24h is >= 0.2 and < 0.5, RiskLevel.High, $"P(failure within 24 h) {Percent(failure24h)} >= 20 %");
        Check(failure48h >= 0.5, RiskLevel.High, $"P(failure within 48 h) {Percent(failure48h)} >= 50 %");
        Check(anomalies.WorstZone == VibrationZone.D, RiskLevel.High, "ISO 10816 zone D");
        Check(health == Warning, RiskLevel.Medium, "health WARNING");
        Check(failure48h is >= 0.2 and < 0.5, RiskLevel.Medium, $"P(failure within 48 h) {Percent(failure48h)} >= 20 %");
        Check(anomalies.WorstZone == VibrationZone.C, RiskLevel.Medium, "ISO 10816 zone C");
        Check(anomalies.Share >= 0.1, RiskLevel.Medium, $"{Percent(anomalies.Share)} of recent scores anomalous");
        if (conditions.Count == 0)
        {
            return (RiskLevel.Low, "no risk condition met");
        }

        var level = conditions.Max(c => c.Level);
        return (level, string.Join("; ", conditions.Where(c => c.Level == level).Select(c => c.Reason)));
    }

    /// <summary>Health from the anomaly scores alone (no state model); see the class summary.</summary>
    public static string HealthFromAnomalies(AnomalyPicture anomalies)
    {
        ArgumentNullException.ThrowIfNull(anomalies);
        if (anomalies.WorstZone == VibrationZone.D || (anomalies.Scores > 0 && anomalies.Share >= 0.5))
        {
            return Faulty;
        }

        if (anomalies.WorstZone == VibrationZone.C || (anomalies.Scores > 0 && anomalies.Share >= 0.1))
        {
            return Warning;
        }

        return anomalies.Scores > 0 || anomalies.WorstZone != VibrationZone.None ? Healthy : Unknown;
    }

    /// <summary>The first row after the last BROKEN one, when the machine runs again after it; else 0.</summary>
    internal static int CurrentLifeStart(IReadOnlyList<string> states)
    {
        for (var r = states.Count - 2; r >= 0; r--)
        {
            if (states[r] == Broken && states[r + 1] != Broken)
            {
                return r + 1;
            }
        }

        return 0;
    }

    private static string Percent(double? p) => p is { } v ? (v * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "n/a";
}
