using System.Diagnostics;
using Pdm.Analytics.Data;

namespace Pdm.Analytics.Anomaly;

/// <summary>What <see cref="AnomalyBenchmarks.Run"/> measured, on one thread (samples per second per core).</summary>
public sealed record AnomalyBenchmarkResult(
    int Sensors,
    int TrainingRows,
    int ScoredSamples,
    double EnsembleSamplesPerSecond,
    double RobustEwmaSamplesPerSecond,
    double IsolationForestSamplesPerSecond,
    double PcaSamplesPerSecond,
    double TemporalSamplesPerSecond,
    int StateBytesPerMachine,
    double IsolationForestTrainSeconds,
    double EnsembleFitSeconds);

/// <summary>
/// Throughput of the anomaly ensemble on synthetic correlated sensor data, for <c>pdm bench</c>: fitting on
/// <c>trainingRows</c> samples, then scoring <c>scoredSamples</c> with a warm per-machine state, the whole
/// ensemble and each detector alone. Single-threaded, so the rates are per core.
/// </summary>
public static class AnomalyBenchmarks
{
    private const int WarmUp = 2_000;

    public static AnomalyBenchmarkResult Run(int trainingRows = 100_000, int scoredSamples = 200_000, int sensors = 8,
        ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trainingRows, AnomalyModel.MinTrainingRows);
        ArgumentOutOfRangeException.ThrowIfLessThan(scoredSamples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sensors, 2);

        var names = SyntheticSensors.Names(sensors);
        var training = SyntheticSensors.Generate(trainingRows, sensors, seed);
        var table = new SensorTable(names, SyntheticSensors.Times(trainingRows), training);
        var clock = Stopwatch.StartNew();
        var model = AnomalyModel.Fit(table, seed: seed).Model!;
        var fitSeconds = clock.Elapsed.TotalSeconds;

        var noPrimes = new int[trainingRows];
        var features = AnomalyModel.ForestFeatures(training, sensors, noPrimes, model.LevelAlpha);
        clock.Restart();
        IsolationForest.Fit(features, MachineScorer.ForestFeaturesPerSensor * sensors, 100, 256, seed);
        var forestTrainSeconds = clock.Elapsed.TotalSeconds;

        var samples = SyntheticSensors.Generate(scoredSamples + WarmUp, sensors, seed + 1);
        var scorer = model.CreateScorer();
        for (var r = 0; r < WarmUp; r++)
        {
            scorer.Score(samples.AsSpan(r * sensors, sensors), r);
        }
        var ensemble = Rate(scoredSamples, () =>
        {
            for (var r = WarmUp; r < WarmUp + scoredSamples; r++)
            {
                scorer.Score(samples.AsSpan(r * sensors, sensors), r);
            }
        });

        var baseline = model.Robust.InitialBaseline.ToArray();
        var spread = model.Robust.InitialSpread.ToArray();
        var share = new double[sensors];
        var robust = Rate(scoredSamples, () =>
        {
            for (var r = WarmUp; r < WarmUp + scoredSamples; r++)
            {
                model.Robust.Score(samples.AsSpan(r * sensors, sensors), baseline, spread, share);
            }
        });

        var level = samples.AsSpan(0, sensors).ToArray();
        var row = new double[MachineScorer.ForestFeaturesPerSensor * sensors];
        var credit = new double[MachineScorer.ForestFeaturesPerSensor * sensors];
        var forest = Rate(scoredSamples, () =>
        {
            for (var r = WarmUp; r < WarmUp + scoredSamples; r++)
            {
                MachineScorer.ForestFeatures(samples.AsSpan(r * sensors, sensors), level, model.LevelAlpha, row);
                model.Forest.Score(row, credit);
            }
        });

        var pca = 0.0;
        if (model.Pca is { } pcaModel)
        {
            var z = new double[sensors];
            var scores = new double[Math.Max(1, pcaModel.Components)];
            var shareQ = new double[sensors];
            pca = Rate(scoredSamples, () =>
            {
                for (var r = WarmUp; r < WarmUp + scoredSamples; r++)
                {
                    pcaModel.Score(samples.AsSpan(r * sensors, sensors), z, scores, share, shareQ, out _, out _);
                }
            });
        }

        var lags = model.Temporal.Lags;
        var inputs = new double[1 + (lags * sensors)];
        var temporal = Rate(scoredSamples, () =>
        {
            for (var r = WarmUp; r < WarmUp + scoredSamples; r++)
            {
                model.Temporal.Score(samples.AsSpan(r * sensors, sensors),
                    samples.AsSpan((r - lags) * sensors, lags * sensors), inputs, share);
            }
        });

        return new AnomalyBenchmarkResult(sensors, trainingRows, scoredSamples, ensemble, robust, forest, pca,
            temporal, scorer.StateBytes, forestTrainSeconds, fitSeconds);
    }

    /// <summary>Best of three rounds, so the first round's JIT tiering does not count.</summary>
    private static double Rate(int samples, Action run)
    {
        var best = 0.0;
        for (var round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Max(best, samples / clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
