using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Trees;

/// <summary>Seeded synthetic data sets with known answers.</summary>
internal static class SyntheticData
{
    public static FeatureMatrix Uniform(int rows, int columns, int seed, double low = -3, double high = 3)
    {
        var random = new Random(seed);
        var x = new FeatureMatrix(rows, columns);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                x[r, c] = low + ((high - low) * random.NextDouble());
            }
        }

        return x;
    }

    /// <summary>y = 2 sin(x0) + x1^2 / 2 + x0 * x2 / 2 + small noise; x3.. are distractors.</summary>
    public static double[] Nonlinear(FeatureMatrix x, int seed, double noise = 0.1)
    {
        var random = new Random(seed);
        var y = new double[x.Rows];
        for (var r = 0; r < x.Rows; r++)
        {
            y[r] = Truth(x.Row(r)) + (noise * ((2 * random.NextDouble()) - 1));
        }

        return y;
    }

    public static double Truth(ReadOnlySpan<double> x) => (2 * Math.Sin(x[0])) + (x[1] * x[1] / 2) + (x[0] * x[2] / 2);

    public static double RSquared(GbtModel model, FeatureMatrix x, ReadOnlySpan<double> y)
    {
        var mean = 0.0;
        foreach (var v in y)
        {
            mean += v / y.Length;
        }

        double residual = 0, total = 0;
        for (var r = 0; r < x.Rows; r++)
        {
            var d = model.Predict(x.Row(r)) - y[r];
            residual += d * d;
            total += (y[r] - mean) * (y[r] - mean);
        }

        return 1 - (residual / total);
    }
}
