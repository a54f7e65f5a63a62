using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>
/// Linear least squares with an L2 penalty on standardised features, solved through the
/// normal equations with a Cholesky factorisation (features number in the hundreds, rows in
/// the tens of thousands, so the p x p system is small). A smooth partner for the trees:
/// it extrapolates trends the trees can only approximate in steps.
/// Missing values are imputed with the training mean (0 after standardising).
/// </summary>
internal sealed class RidgeRegression
{
    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly double[] _weights;
    private readonly double _intercept;

    private RidgeRegression(double[] mean, double[] scale, double[] weights, double intercept)
    {
        _mean = mean;
        _scale = scale;
        _weights = weights;
        _intercept = intercept;
    }

    /// <summary>Fits with penalty <paramref name="penalty"/> per row, so its strength does not change with data size.</summary>
    public static RidgeRegression Fit(FeatureMatrix x, ReadOnlySpan<double> y, double penalty)
    {
        var n = x.Rows;
        var p = x.Columns;
        var (mean, scale) = Moments(x);
        var intercept = 0.0;
        foreach (var v in y)
        {
            intercept += v / n;
        }

        var gram = new double[p * p];
        var rhs = new double[p];
        var z = new double[p];
        for (var r = 0; r < n; r++)
        {
            Standardise(x.Row(r), mean, scale, z);
            var target = y[r] - intercept;
            for (var i = 0; i < p; i++)
            {
                var zi = z[i];
                rhs[i] += zi * target;
                var rowOffset = i * p;
                for (var j = 0; j <= i; j++)
                {
                    gram[rowOffset + j] += zi * z[j];
                }
            }
        }

        for (var i = 0; i < p; i++)
        {
            gram[(i * p) + i] += penalty * n;
        }

        return new RidgeRegression(mean, scale, CholeskySolve(gram, rhs, p), intercept);
    }

    public double Predict(ReadOnlySpan<double> row)
    {
        var sum = _intercept;
        for (var i = 0; i < _weights.Length; i++)
        {
            var v = row[i];
            if (double.IsFinite(v))
            {
                sum += _weights[i] * (v - _mean[i]) / _scale[i];
            }
        }

        return sum;
    }

    /// <summary>
    /// Linear SHAP: each feature's term of the prediction into <paramref name="contributions"/> (0 for a missing
    /// value, which is imputed with the mean); returns the base value they add to (the intercept, the training mean).
    /// </summary>
    public double Contributions(ReadOnlySpan<double> row, Span<double> contributions)
    {
        for (var i = 0; i < _weights.Length; i++)
        {
            var v = row[i];
            contributions[i] = double.IsFinite(v) ? _weights[i] * (v - _mean[i]) / _scale[i] : 0;
        }

        return _intercept;
    }

    private static (double[] Mean, double[] Scale) Moments(FeatureMatrix x)
    {
        var p = x.Columns;
        var mean = new double[p];
        var scale = new double[p];
        var count = new long[p];
        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Row(r);
            for (var i = 0; i < p; i++)
            {
                if (double.IsFinite(row[i]))
                {
                    mean[i] += row[i];
                    count[i]++;
                }
            }
        }

        for (var i = 0; i < p; i++)
        {
            mean[i] = count[i] > 0 ? mean[i] / count[i] : 0;
        }

        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Row(r);
            for (var i = 0; i < p; i++)
            {
                if (double.IsFinite(row[i]))
                {
                    scale[i] += (row[i] - mean[i]) * (row[i] - mean[i]);
                }
            }
        }

        for (var i = 0; i < p; i++)
        {
            var std = count[i] > 1 ? Math.Sqrt(scale[i] / (count[i] - 1)) : 0;
            // A constant column standardises to 0 everywhere; the penalty then keeps its weight at 0.
            scale[i] = std > 0 ? std : 1;
        }

        return (mean, scale);
    }

    private static void Standardise(ReadOnlySpan<double> row, double[] mean, double[] scale, double[] z)
    {
        for (var i = 0; i < z.Length; i++)
        {
            z[i] = double.IsFinite(row[i]) ? (row[i] - mean[i]) / scale[i] : 0;
        }
    }

    /// <summary>Solves A w = b for symmetric positive definite A given by its lower triangle (row-major).</summary>
    private static double[] CholeskySolve(double[] a, double[] b, int p)
    {
        var l = new double[p * p];
        for (var i = 0; i < p; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[(i * p) + j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[(i * p) + k] * l[(j * p) + k];
                }

                l[(i * p) + j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-12)) : sum / l[(j * p) + j];
            }
        }

        var w = new double[p];
        for (var i = 0; i < p; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++)
            {
                sum -= l[(i * p) + k] * w[k];
            }

            w[i] = sum / l[(i * p) + i];
        }

        for (var i = p - 1; i >= 0; i--)
        {
            var sum = w[i];
            for (var k = i + 1; k < p; k++)
            {
                sum -= l[(k * p) + i] * w[k];
            }

            w[i] = sum / l[(i * p) + i];
        }

        return w;
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(_weights.Length);
        writer.Write(_intercept);
        for (var i = 0; i < _weights.Length; i++)
        {
            writer.Write(_mean[i]);
            writer.Write(_scale[i]);
            writer.Write(_weights[i]);
        }
    }

    internal static RidgeRegression Read(BinaryReader reader, int featureCount)
    {
        var p = RulFeatureBuilder.Bounded(reader.ReadInt32(), featureCount, featureCount, "linear model feature count");
        var intercept = reader.ReadDouble();
        var mean = new double[p];
        var scale = new double[p];
        var weights = new double[p];
        for (var i = 0; i < p; i++)
        {
            mean[i] = reader.ReadDouble();
            scale[i] = reader.ReadDouble();
            weights[i] = reader.ReadDouble();
        }

        return new RidgeRegression(mean, scale, weights, intercept);
    }
}
