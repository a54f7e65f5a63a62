using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;

namespace Pdm.Analytics.Tests.Anomaly;

/// <summary>Synthetic correlated sensor data (seeded) and the faults the detectors must find.</summary>
internal static class SensorData
{
    public const int Sensors = 8;

    public static readonly string[] Names = SyntheticSensors.Names(Sensors);

    public static SensorTable Table(double[] values, double firstTime = 0)
    {
        var rows = values.Length / Sensors;
        return new SensorTable(Names, [.. Enumerable.Range(0, rows).Select(r => firstTime + r)], values);
    }

    public static double[] Normal(int rows, ulong seed) => SyntheticSensors.Generate(rows, Sensors, seed);

    public static double StdDev(double[] values, int sensor)
    {
        var column = Enumerable.Range(0, values.Length / Sensors).Select(r => values[(r * Sensors) + sensor]).ToArray();
        var mean = column.Average();
        return Math.Sqrt(column.Sum(v => (v - mean) * (v - mean)) / column.Length);
    }

    public static void Step(double[] values, int sensor, int from, int to, double size)
    {
        for (var r = from; r < to; r++)
        {
            values[(r * Sensors) + sensor] += size;
        }
    }

    public static void Drift(double[] values, int sensor, int from, int to, double total)
    {
        for (var r = from; r < to; r++)
        {
            values[(r * Sensors) + sensor] += total * (r - from) / (to - from);
        }
    }

    /// <summary>
    /// The sensor moves against the others (mirrored around its mean, as a sensor wired or mounted the wrong way):
    /// its own mean and spread are unchanged, only its relation to the rest is broken.
    /// </summary>
    public static void BreakCorrelation(double[] values, int sensor, int from, int to)
    {
        var mean = Enumerable.Range(0, values.Length / Sensors).Average(r => values[(r * Sensors) + sensor]);
        for (var r = from; r < to; r++)
        {
            ref var v = ref values[(r * Sensors) + sensor];
            v = (2 * mean) - v;
        }
    }

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public static AnomalyScore[] ScoreAll(MachineScorer scorer, double[] values, double firstTime = 0)
    {
        var rows = values.Length / Sensors;
        var scores = new AnomalyScore[rows];
        for (var r = 0; r < rows; r++)
        {
            scores[r] = scorer.Score(values.AsSpan(r * Sensors, Sensors), firstTime + r);
        }
        return scores;
    }
}
