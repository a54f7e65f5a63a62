using Pdm.Telemetry;
using Pdm.Analytics.Anomaly;

namespace Pdm.Analytics.Tests.Anomaly;

public class MachineScorerTests
{
    private static readonly Lazy<AnomalyModel> Model = new(() =>
        AnomalyModel.Fit(SensorData.Table(SensorData.Normal(3000, 21)), seed: 4).Model!);

    private static long[] Bits(AnomalyScore score, ReadOnlySpan<double> contributions) =>
    [
        BitConverter.DoubleToInt64Bits(score.Score), BitConverter.DoubleToInt64Bits(score.IsolationForest),
        BitConverter.DoubleToInt64Bits(score.RobustEwma), BitConverter.DoubleToInt64Bits(score.Pca),
        BitConverter.DoubleToInt64Bits(score.Temporal), score.TopSensor, score.IsAnomaly ? 1 : 0,
        .. contributions.ToArray().Select(BitConverter.DoubleToInt64Bits),
    ];

    [Fact]
    public void A_machines_iso_class_replaces_the_zone_table_the_model_was_trained_with()
    {
        var vibration = Array.IndexOf(SensorData.Names, "vibration");
        var row = SensorData.Normal(1, 23);
        row[vibration] = 5.0;
        Assert.Same(IsoZoneBoundaries.Group2Rigid, Model.Value.IsoZones);

        Assert.Equal(VibrationZone.D, Model.Value.CreateScorer().Score(row, 0).Zone);
        Assert.Equal(VibrationZone.C, Model.Value.CreateScorer(IsoZoneBoundaries.Group1Rigid).Score(row, 0).Zone);
        Assert.Equal(VibrationZone.B, MachineAnomalyTracker.ForModel(Model.Value, IsoZoneBoundaries.ClassIV).Score(row, 0).Zone);
        // A model trained without the check keeps it off: its vibration may not be mm/s.
        var withoutCheck = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(3000, 21)), new AnomalyOptions { IsoZones = null }, 4).Model!;
        Assert.Equal(VibrationZone.None, withoutCheck.CreateScorer(IsoZoneBoundaries.Group1Rigid).Score(row, 0).Zone);
    }

    [Fact]
    public void Restored_state_gives_bit_identical_scores_to_an_uninterrupted_scorer()
    {
        var values = SensorData.Normal(4000, 22);
        SensorData.Step(values, 2, 2500, 3000, 1.0);
        values[(2100 * SensorData.Sensors) + 4] = double.NaN;
        var running = Model.Value.CreateScorer();
        SensorData.ScoreAll(running, values.AsSpan(0, 2000 * SensorData.Sensors).ToArray());
        var saved = running.SaveState();

        // A new process: the model read back from its bytes, a fresh scorer, the checkpoint restored.
        var reloaded = AnomalyModel.Read(Model.Value.ToBytes()).Model!;
        var restored = reloaded.CreateScorer();
        Assert.True(restored.TryRestoreState(saved, out var error), error);

        for (var r = 2000; r < 4000; r++)
        {
            var row = values.AsSpan(r * SensorData.Sensors, SensorData.Sensors);
            var a = running.Score(row, r);
            var expected = Bits(a, running.Contributions);
            var b = restored.Score(row, r);
            Assert.Equal(expected, Bits(b, restored.Contributions));
        }
    }

    [Fact]
    public void State_of_eight_sensors_fits_in_16_kilobytes()
    {
        var scorer = Model.Value.CreateScorer();

        Assert.True(scorer.StateBytes <= 16 * 1024, $"{scorer.StateBytes} bytes");
        Assert.Equal(scorer.StateBytes, scorer.SaveState().Length);
    }

    [Fact]
    public void State_from_another_model_is_refused()
    {
        var other = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(3000, 21)), seed: 99).Model!;
        var saved = other.CreateScorer().SaveState();

        Assert.False(Model.Value.CreateScorer().TryRestoreState(saved, out var error));
        Assert.Equal("the state was saved with a different model", error);
        Assert.False(Model.Value.CreateScorer().TryRestoreState(saved.AsSpan(0, 10), out error));
        Assert.Equal("not a machine scorer state", error);
    }

    [Fact]
    public void Missing_value_is_scored_as_the_sensor_last_value()
    {
        var values = SensorData.Normal(300, 23);
        var withGap = (double[])values.Clone();
        withGap[(200 * SensorData.Sensors) + 3] = double.NaN;
        values[(200 * SensorData.Sensors) + 3] = values[(199 * SensorData.Sensors) + 3];

        var expected = SensorData.ScoreAll(Model.Value.CreateScorer(), values);
        var actual = SensorData.ScoreAll(Model.Value.CreateScorer(), withGap);

        Assert.Equal(expected, actual);
        Assert.All(actual, s => Assert.True(double.IsFinite(s.Score)));
    }

    [Fact]
    public void Vibration_in_zone_d_is_anomalous_without_training_and_names_the_sensor()
    {
        var vibration = Array.IndexOf(SensorData.Names, "vibration");
        var scorer = Model.Value.CreateScorer();
        var values = SensorData.Normal(100, 24);
        SensorData.ScoreAll(scorer, values[..(99 * SensorData.Sensors)]);
        var row = values.AsSpan(99 * SensorData.Sensors, SensorData.Sensors).ToArray();
        row[vibration] = 5.0;

        var score = scorer.Score(row, 99);

        Assert.Equal(VibrationZone.D, score.Zone);
        Assert.True(score.IsAnomaly);
        Assert.Equal(vibration, score.TopSensor);
        Assert.Equal(["vibration"], Model.Value.VibrationSensors);
    }

    [Fact]
    public void Time_gap_restarts_the_lag_history_instead_of_comparing_across_it()
    {
        var values = SensorData.Normal(400, 25);
        // Second stretch of the same machine, an hour later, starting elsewhere in its cycle.
        var later = SensorData.Normal(400, 26);
        var scorer = Model.Value.CreateScorer();
        SensorData.ScoreAll(scorer, values);

        var afterGap = scorer.Score(later.AsSpan(0, SensorData.Sensors), 400 + 3600);
        var fresh = Model.Value.CreateScorer().Score(later.AsSpan(0, SensorData.Sensors), 0);

        Assert.Equal(fresh.Temporal, afterGap.Temporal);
    }
}
