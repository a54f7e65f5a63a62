using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Tests.Rul;
using Pdm.Analytics.Trees;
using Pdm.Telemetry;

namespace Pdm.Analytics.Tests.Health;

public sealed class MachinePredictorTests
{
    private static readonly string[] Columns = ["rising", "falling", "noise", "constant"];
    private static readonly Lazy<RulModel> Blended = new(() => RulModel.Fit(SyntheticFleet.Generate(15, seed: 2), SyntheticFleet.FastOptions, seed: 1, Columns));
    private static readonly Lazy<StateModel> States = new(FitStates);

    // A unit 60 rows before failure, with its columns in another order than the models' and one extra sensor.
    private static MachineWindow Window(int seed = 3, int cut = 60)
    {
        var unit = SyntheticFleet.Generate(1, seed)[0];
        unit = unit.Truncate(unit.Length - cut);
        string[] sensors = ["extra", "noise", "falling", "rising", "constant"];
        var values = new FeatureMatrix(unit.Length, sensors.Length);
        for (var r = 0; r < unit.Length; r++)
        {
            values[r, 0] = 1;
            values[r, 1] = unit.Values[r, 2];
            values[r, 2] = unit.Values[r, 1];
            values[r, 3] = unit.Values[r, 0];
            values[r, 4] = unit.Values[r, 3];
        }
        return new MachineWindow("m1", [.. unit.Time.ToArray().Select(t => t + 1000)], sensors, values);
    }

    private static StateModel FitStates()
    {
        var units = SyntheticFleet.Generate(15, seed: 4);
        var labels = units.Select(u => Enumerable.Range(0, u.Length).Select(r =>
            u.Length - r <= 10 ? MachinePredictor.Broken : u.Length - r <= 40 ? MachinePredictor.Faulty
            : u.Length - r <= 80 ? MachinePredictor.Warning : MachinePredictor.Healthy).ToArray()).ToList();
        return StateModel.Fit(units, labels, seed: 5, Columns);
    }

    [Fact]
    public void Rul_sensor_contributions_add_up_to_the_prediction_minus_the_expected_value()
    {
        var model = Blended.Value;
        Assert.True(model.Validation.TreeWeight < 1, "the test needs a model that blends in the ridge regression");
        var window = Window();

        var prediction = MachinePredictor.Predict(window, null, model, AnomalyPicture.None);

        var rul = prediction.Explanation.Rul!;
        Assert.Equal(model.PredictLast(window.ToUnit(Columns)), prediction.RulSeconds!.Value, 9);
        Assert.Equal(prediction.RulSeconds.Value, rul.RawSeconds, 9);
        Assert.Equal(rul.RawSeconds - rul.ExpectedSeconds, rul.Sensors.Sum(s => s.Contribution), 9);
        Assert.Equal(["age", "falling", "noise", "rising"], rul.Sensors.Select(s => s.Sensor).Order(StringComparer.Ordinal));
        Assert.True(rul.Sensors.Select(s => Math.Abs(s.Contribution)).SequenceEqual(rul.Sensors.Select(s => Math.Abs(s.Contribution)).OrderDescending()));
    }

    [Fact]
    public void Tree_only_rul_explanation_is_additive_too()
    {
        var model = RulModel.Fit(SyntheticFleet.Generate(12, seed: 6), SyntheticFleet.FastOptions with { BlendLinear = false }, seed: 1, Columns);
        var explanation = model.ExplainLast(Window().ToUnit(Columns));

        Assert.Equal(explanation.RawPrediction - explanation.ExpectedValue, explanation.Contributions.Sum(), 9);
        Assert.Equal(model.PredictLast(Window().ToUnit(Columns)), explanation.Prediction, 9);
    }

    [Fact]
    public void State_contributions_add_up_to_the_predicted_class_score()
    {
        var model = States.Value;

        var prediction = MachinePredictor.Predict(Window(cut: 5), model, null, AnomalyPicture.None);

        var state = prediction.Explanation.Health!;
        Assert.Equal(prediction.Health, state.State);
        Assert.Equal("state-model", prediction.Explanation.HealthSource);
        Assert.Equal(state.Score - state.ExpectedScore, state.Sensors.Sum(s => s.Contribution), 9);
        Assert.Equal(1, prediction.HealthProbabilities.Values.Sum(), 9);
        Assert.Equal(prediction.HealthProbabilities.MaxBy(p => p.Value).Key, prediction.Health);
        Assert.Equal(model.Predict(Window(cut: 5).ToUnit(Columns)).States[^1], prediction.Health);
    }

    [Fact]
    public void A_window_from_the_readings_clock_counts_machine_seconds_from_its_first_sample()
    {
        var start = new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
        DateTimeOffset[] stamps = [start, start.AddSeconds(1), start.AddSeconds(2.5)];

        var window = MachineWindow.FromReadingsClock("m3", stamps, ["rising"], new FeatureMatrix([1.0, 2.0, 3.0], 1), timeScale: 1440);

        Assert.Equal([0, 1440, 3600], window.Time.ToArray());
        Assert.Equal([0, 1, 2.5], MachineWindow.FromReadingsClock("m3", stamps, ["rising"], new FeatureMatrix([1.0, 2.0, 3.0], 1), 1).Time.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => MachineWindow.FromReadingsClock("m3", stamps, ["rising"], new FeatureMatrix([1.0, 2.0, 3.0], 1), 0));
    }

    [Fact]
    public void Failure_probabilities_are_for_24_and_48_hours_of_the_window_time()
    {
        var model = Blended.Value;

        var prediction = MachinePredictor.Predict(Window(), null, model, AnomalyPicture.None);

        var rul = prediction.RulSeconds!.Value;
        Assert.Equal(model.FailureProbability(rul, 24 * 3600), prediction.FailureProbability24h);
        Assert.Equal(model.FailureProbability(rul, 48 * 3600), prediction.FailureProbability48h);
        Assert.Equal(model.Uncertainty.Quantile(rul, 0.1), prediction.RulP10Seconds);
        Assert.Equal(model.Uncertainty.Quantile(rul, 0.9), prediction.RulP90Seconds);
        Assert.True(prediction.RulP10Seconds <= prediction.RulP90Seconds);
        Assert.True(prediction.FailureProbability24h <= prediction.FailureProbability48h);
    }

    [Theory]
    [InlineData("BROKEN", null, null, 0, 0, VibrationZone.None, RiskLevel.Critical)]
    [InlineData("HEALTHY", 0.6, 0.9, 0, 0, VibrationZone.None, RiskLevel.Critical)]
    [InlineData("FAULTY", 0.0, 0.0, 0, 0, VibrationZone.None, RiskLevel.High)]
    [InlineData("HEALTHY", 0.25, 0.3, 0, 0, VibrationZone.None, RiskLevel.High)]
    [InlineData("HEALTHY", 0.1, 0.5, 0, 0, VibrationZone.None, RiskLevel.High)]
    [InlineData("HEALTHY", null, null, 10, 0, VibrationZone.D, RiskLevel.High)]
    [InlineData("WARNING", 0.0, 0.0, 0, 0, VibrationZone.None, RiskLevel.Medium)]
    [InlineData("HEALTHY", 0.05, 0.2, 0, 0, VibrationZone.None, RiskLevel.Medium)]
    [InlineData("HEALTHY", 0.0, 0.0, 10, 0, VibrationZone.C, RiskLevel.Medium)]
    [InlineData("HEALTHY", 0.0, 0.0, 10, 1, VibrationZone.B, RiskLevel.Medium)]
    [InlineData("HEALTHY", 0.19, 0.19, 10, 0, VibrationZone.B, RiskLevel.Low)]
    [InlineData("UNKNOWN", null, null, 0, 0, VibrationZone.None, RiskLevel.Low)]
    public void Risk_is_the_highest_level_any_condition_reaches(string health, double? p24, double? p48, int scores, int anomalies,
        VibrationZone zone, RiskLevel expected)
    {
        var (risk, reason) = MachinePredictor.AssessRisk(health, p24, p48, new AnomalyPicture(scores, anomalies, zone));

        Assert.Equal(expected, risk);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [Fact]
    public void Risk_reason_names_the_conditions_that_set_the_level()
    {
        var (_, reason) = MachinePredictor.AssessRisk("FAULTY", 0.3, 0.6, new AnomalyPicture(10, 5, VibrationZone.D));

        Assert.Equal("health FAULTY; P(failure within 24 h) 30 % >= 20 %; P(failure within 48 h) 60 % >= 50 %; ISO 10816 zone D", reason);
    }

    [Theory]
    [InlineData(0, 0, VibrationZone.None, "UNKNOWN", RiskLevel.Low)]
    [InlineData(100, 0, VibrationZone.A, "HEALTHY", RiskLevel.Low)]
    [InlineData(100, 10, VibrationZone.B, "WARNING", RiskLevel.Medium)]
    [InlineData(100, 0, VibrationZone.C, "WARNING", RiskLevel.Medium)]
    [InlineData(100, 50, VibrationZone.None, "FAULTY", RiskLevel.High)]
    [InlineData(100, 0, VibrationZone.D, "FAULTY", RiskLevel.High)]
    public void Without_models_health_comes_from_the_anomaly_scores_and_the_rul_is_unknown(int scores, int anomalies, VibrationZone zone,
        string health, RiskLevel risk)
    {
        var prediction = MachinePredictor.Predict(Window(), null, null, new AnomalyPicture(scores, anomalies, zone));

        Assert.Equal(health, prediction.Health);
        Assert.Equal(risk, prediction.Risk);
        Assert.Empty(prediction.HealthProbabilities);
        Assert.Null(prediction.RulSeconds);
        Assert.Null(prediction.RulP10Seconds);
        Assert.Null(prediction.FailureProbability24h);
        Assert.Null(prediction.FailureProbability48h);
        Assert.Null(prediction.Explanation.Rul);
        Assert.Null(prediction.Explanation.Health);
        Assert.Equal(health == "UNKNOWN" ? "none" : "anomaly-scores", prediction.Explanation.HealthSource);
    }

    [Theory]
    [InlineData(new[] { "HEALTHY", "WARNING", "HEALTHY" }, 0)]
    [InlineData(new[] { "FAULTY", "BROKEN", "BROKEN" }, 0)]
    [InlineData(new[] { "WARNING", "BROKEN", "BROKEN", "HEALTHY", "HEALTHY" }, 3)]
    [InlineData(new[] { "BROKEN", "HEALTHY", "BROKEN", "HEALTHY", "FAULTY", "BROKEN" }, 3)]
    public void A_machine_replaced_after_breaking_starts_a_new_life(string[] states, int start) =>
        Assert.Equal(start, MachinePredictor.CurrentLifeStart(states));

    [Fact]
    public void A_sensor_the_machine_does_not_send_reaches_the_model_as_missing()
    {
        var window = new MachineWindow("m2", [0, 1, 2], ["rising"], new FeatureMatrix([1.0, 2.0, 3.0], 1));

        var unit = window.ToUnit(["falling", "rising"], firstRow: 1);

        Assert.Equal([0.0, 1.0], unit.Time.ToArray());
        Assert.True(double.IsNaN(unit.Values[0, 0]));
        Assert.Equal(3.0, unit.Values[1, 1]);
    }
}
