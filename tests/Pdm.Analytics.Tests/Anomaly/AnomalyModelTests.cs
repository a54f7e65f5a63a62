using Pdm.Telemetry;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;

namespace Pdm.Analytics.Tests.Anomaly;

public class AnomalyModelTests
{
    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        var table = SensorData.Table(SensorData.Normal(2000, 31));

        var first = AnomalyModel.Fit(table, seed: 7).Model!.ToBytes();
        var second = AnomalyModel.Fit(table, seed: 7).Model!.ToBytes();
        var otherSeed = AnomalyModel.Fit(table, seed: 8).Model!.ToBytes();

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void Model_bytes_round_trip_with_the_same_scores()
    {
        var model = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(2000, 32)), seed: 1).Model!;
        var bytes = model.ToBytes();

        var read = AnomalyModel.Read(bytes);

        Assert.True(read.IsSuccess, read.Error);
        Assert.Equal(bytes, read.Model!.ToBytes());
        Assert.Equal(model.Fingerprint, read.Model.Fingerprint);
        var values = SensorData.Normal(500, 33);
        Assert.Equal(SensorData.ScoreAll(model.CreateScorer(), values), SensorData.ScoreAll(read.Model.CreateScorer(), values));
    }

    [Fact]
    public void Foreign_truncated_and_future_model_files_are_refused_with_a_reason()
    {
        var bytes = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(500, 34)), seed: 1).Model!.ToBytes();
        var future = (byte[])bytes.Clone();
        future[8] = 9;

        Assert.Equal("not an anomaly model file (no PDMANOM header)", AnomalyModel.Read("hello"u8).Error);
        Assert.Equal("anomaly model file is truncated", AnomalyModel.Read(bytes.AsSpan(0, bytes.Length / 2)).Error);
        Assert.Equal("anomaly model format version 9 is not supported (this build reads version 1)",
            AnomalyModel.Read(future).Error);
    }

    /// <summary>
    /// The threshold is calibrated on cross-fitted scores, so the target rate holds on new normal data of the same
    /// machine; on the rows the detectors were fitted on the model alarms less.
    /// </summary>
    [Fact]
    public void Threshold_holds_the_target_rate_on_new_normal_data()
    {
        var table = SensorData.Table(SensorData.Normal(5000, 35));
        var model = AnomalyModel.Fit(table, new AnomalyOptions { TargetFalsePositiveRate = 0.05 }, seed: 2).Model!;

        var freshRate = AlarmRate(model, SensorData.Normal(20_000, 77));

        Assert.InRange(freshRate, 0.035, 0.065);
        Assert.True(AlarmRate(model, table.Values.ToArray()) <= freshRate + 0.005);
    }

    /// <summary>
    /// On a short table the detectors fit their own noise: calibrated on their own rows, the threshold is far below
    /// what new data of the same machine scores. Cross-fitting brings it nearer the target. (Neither can know the slow
    /// ambient factor beyond the range 300 samples show, so neither reaches the target here.)
    /// </summary>
    [Fact]
    public void On_a_short_table_cross_fitted_calibration_alarms_far_less_on_new_data_than_calibration_on_own_rows()
    {
        var table = SensorData.Table(SensorData.Normal(300, 35));
        var options = new AnomalyOptions { TargetFalsePositiveRate = 0.05 };
        var crossFitted = AnomalyModel.Fit(table, options, seed: 2).Model!;
        var ownRows = AnomalyModel.Fit(table, options, seed: 2, calibration: null, crossFit: false).Model!;
        var fresh = SensorData.Normal(20_000, 77);

        var crossFittedRate = AlarmRate(crossFitted, fresh);
        var ownRowsRate = AlarmRate(ownRows, fresh);

        Assert.True(crossFittedRate < 0.6 * ownRowsRate, $"cross-fitted {crossFittedRate:P1}, own rows {ownRowsRate:P1}");
    }

    private static double AlarmRate(AnomalyModel model, double[] values) =>
        SensorData.ScoreAll(model.CreateScorer(), values).Average(s => s.IsAnomaly ? 1.0 : 0.0);

    [Fact]
    public void Too_little_data_a_column_without_values_and_bad_options_are_reported()
    {
        var small = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(50, 36)));
        Assert.Equal(["training needs at least 100 rows, the table has 50"], small.Errors);

        var values = SensorData.Normal(200, 36);
        for (var r = 0; r < 200; r++)
        {
            values[(r * SensorData.Sensors) + 4] = double.NaN;
        }
        Assert.Equal(["column 'speed' has no values"], AnomalyModel.Fit(SensorData.Table(values)).Errors);

        var options = new AnomalyOptions { Weights = new AnomalyWeights(0, 0, 0), TargetFalsePositiveRate = 0 };
        Assert.Equal(["weights must be non-negative and not all zero", "target false-positive rate must be in (0, 0.5)"],
            AnomalyModel.Fit(SensorData.Table(SensorData.Normal(200, 36)), options).Errors);
    }

    [Fact]
    public void Constant_column_and_vibration_outside_zone_b_in_training_are_warned_about()
    {
        var values = SensorData.Normal(500, 37);
        var vibration = Array.IndexOf(SensorData.Names, "vibration");
        for (var r = 0; r < 500; r++)
        {
            values[(r * SensorData.Sensors) + 0] = 20;
            values[(r * SensorData.Sensors) + vibration] += 3;
        }

        var fit = AnomalyModel.Fit(SensorData.Table(values));

        Assert.True(fit.IsSuccess);
        Assert.Contains(fit.Warnings, w => w.StartsWith("column 'temperature' is constant", StringComparison.Ordinal));
        Assert.Contains(fit.Warnings, w => w.Contains("ISO zone C or D for ISO 10816-3 group 2, rigid", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0.5, VibrationZone.A)]
    [InlineData(1.4, VibrationZone.B)]
    [InlineData(2.8, VibrationZone.C)]
    [InlineData(4.49, VibrationZone.C)]
    [InlineData(4.5, VibrationZone.D)]
    [InlineData(double.NaN, VibrationZone.None)]
    public void Iso_10816_group_2_rigid_zones(double rms, VibrationZone zone)
    {
        Assert.Equal(zone, IsoZoneBoundaries.Group2Rigid.Classify(rms));
    }

    [Fact]
    public void Isolation_forest_path_length_normaliser_matches_the_paper()
    {
        Assert.Equal(10.2448, IsolationForest.AveragePathLength(256), 3);
        Assert.Equal(1, IsolationForest.AveragePathLength(2));
    }

    [Fact]
    public void Benchmark_reports_rates_and_state_size()
    {
        var result = AnomalyBenchmarks.Run(trainingRows: 1000, scoredSamples: 2000);

        Assert.True(result.EnsembleSamplesPerSecond > 0);
        Assert.True(result.IsolationForestSamplesPerSecond > 0 && result.TemporalSamplesPerSecond > 0);
        Assert.True(result.StateBytesPerMachine is > 0 and <= 16 * 1024);
    }
}
