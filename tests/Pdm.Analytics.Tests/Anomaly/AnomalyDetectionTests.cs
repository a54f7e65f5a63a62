using Pdm.Analytics.Anomaly;

namespace Pdm.Analytics.Tests.Anomaly;

/// <summary>Each detector finds the fault it is built for in synthetic correlated data, and the ensemble names the sensor.</summary>
public class AnomalyDetectionTests
{
    private const int FaultStart = 1000;
    private static readonly Lazy<AnomalyModel> Model = new(() =>
        AnomalyModel.Fit(SensorData.Table(SensorData.Normal(6000, 1)), seed: 3).Model!);

    private static (AnomalyScore[] Scores, double Sd) Run(Action<double[], double> inject, int sensor)
    {
        var values = SensorData.Normal(2000, 2);
        var sd = SensorData.StdDev(SensorData.Normal(6000, 1), sensor);
        inject(values, sd);
        return (SensorData.ScoreAll(Model.Value.CreateScorer(), values), sd);
    }

    private static double Share(IEnumerable<AnomalyScore> scores, Func<AnomalyScore, bool> condition) =>
        scores.Average(s => condition(s) ? 1.0 : 0.0);

    [Fact]
    public void Robust_ewma_and_ensemble_catch_a_step_and_name_the_sensor()
    {
        var (scores, _) = Run((v, sd) => SensorData.Step(v, 1, FaultStart, 2000, 6 * sd), 1);
        var onset = scores.AsSpan(FaultStart, 5).ToArray();
        var step = scores.AsSpan(FaultStart, 500).ToArray();

        Assert.True(Share(onset, s => s.RobustEwma > 3) >= 0.8);
        Assert.True(Share(step, s => s.IsAnomaly) >= 0.95);
        Assert.True(Share(step, s => s.TopSensor == 1) >= 0.95);
        Assert.True(Share(scores[..FaultStart], s => s.IsAnomaly) < 0.05);
    }

    [Fact]
    public void Ensemble_catches_a_slow_drift_once_it_leaves_the_normal_relation_and_names_the_sensor()
    {
        var (scores, _) = Run((v, sd) => SensorData.Drift(v, 3, FaultStart, 1500, 6 * sd), 3);
        var late = scores.AsSpan(1400, 100).ToArray();

        Assert.True(Share(late, s => s.Statistical > 2) >= 0.9);
        Assert.True(Share(late, s => s.IsAnomaly) >= 0.9);
        Assert.True(Share(late, s => s.TopSensor == 3) >= 0.9);
        // While the drift is still small it stays quiet: not a detector that fires on everything.
        Assert.True(Share(scores.AsSpan(FaultStart, 30).ToArray(), s => s.IsAnomaly) < 0.2);
    }

    [Fact]
    public void Isolation_forest_ranks_a_machine_leaving_its_operating_region_above_normal_samples()
    {
        var (scores, _) = Run((v, _) =>
        {
            foreach (var sensor in new[] { 0, 3, 6 })
            {
                SensorData.Step(v, sensor, FaultStart, 2000, 5 * SensorData.StdDev(v, sensor));
            }
        }, 0);

        // Surprise 1.3 = rarer than 95% of normal training samples. Points beyond the training range isolate no
        // faster than the most extreme normal ones, so the forest ranks such a fault higher, not extreme: it
        // carries its weight in the ensemble rather than deciding alone.
        var inFault = Share(scores.AsSpan(FaultStart, 1000).ToArray(), s => s.IsolationForest > 1.3);
        var inNormal = Share(scores[..FaultStart], s => s.IsolationForest > 1.3);
        Assert.True(inFault >= 3 * inNormal, $"fault {inFault}, normal {inNormal}");
        Assert.True(Share(scores.AsSpan(FaultStart, 1000).ToArray(), s => s.IsAnomaly) >= 0.95);
    }

    [Fact]
    public void Temporal_model_catches_single_sample_spikes()
    {
        var spikes = Enumerable.Range(0, 10).Select(i => FaultStart + (i * 80)).ToArray();
        var (scores, _) = Run((v, sd) =>
        {
            foreach (var r in spikes)
            {
                SensorData.Step(v, 5, r, r + 1, 3 * sd);
            }
        }, 5);
        var hit = spikes.Select(r => scores[r]).ToArray();

        Assert.True(Share(hit, s => s.Temporal > 2) >= 0.9);
        Assert.True(Share(hit, s => s.IsAnomaly) >= 0.9);
        Assert.True(Share(hit, s => s.TopSensor == 5) >= 0.9);
    }

    [Fact]
    public void Pca_catches_a_sensor_that_stops_following_the_others()
    {
        var (scores, _) = Run((v, _) => SensorData.BreakCorrelation(v, 0, FaultStart, 1600), 0);
        var broken = scores.AsSpan(FaultStart, 600).ToArray();

        // Mirrored around the mean, the sensor only disagrees when the machine is away from its mean load.
        var inFault = Share(broken, s => s.Pca > 2);
        var inNormal = Share(scores[..FaultStart], s => s.Pca > 2);
        Assert.True(inFault >= 0.3 && inFault >= 5 * inNormal, $"fault {inFault}, normal {inNormal}");
        Assert.True(Share(broken, s => s.IsAnomaly) >= 0.2);
        Assert.True(Share(broken.Where(s => s.IsAnomaly), s => s.TopSensor == 0) >= 0.9);
    }

    [Fact]
    public void False_positive_rate_on_held_out_normal_data_is_near_the_target()
    {
        var model = AnomalyModel.Fit(SensorData.Table(SensorData.Normal(20_000, 11)), seed: 5).Model!;

        var scores = SensorData.ScoreAll(model.CreateScorer(), SensorData.Normal(20_000, 12));
        var rate = Share(scores, s => s.IsAnomaly);

        Assert.Equal(0.01, model.TargetFalsePositiveRate);
        Assert.InRange(rate, 0.003, 0.025);
    }

    [Fact]
    public void Contributions_add_up_to_the_score()
    {
        var scorer = Model.Value.CreateScorer();
        var values = SensorData.Normal(200, 4);
        SensorData.Step(values, 2, 150, 200, 1.5);

        for (var r = 0; r < 200; r++)
        {
            var score = scorer.Score(values.AsSpan(r * SensorData.Sensors, SensorData.Sensors), r);
            var sum = 0.0;
            foreach (var c in scorer.Contributions)
            {
                sum += c;
            }
            Assert.Equal(score.Score, sum, 9);
            Assert.Equal(scorer.Contributions[score.TopSensor], score.TopContribution);
        }
    }
}
