namespace Pdm.Analytics.Anomaly;

/// <summary>The few numeric routines the detectors need; small matrices, row-major.</summary>
internal static class Numerics
{
    /// <summary>Quantile of sorted values with linear interpolation between order statistics.</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double level)
    {
        if (sorted.Length == 1)
        {
            return sorted[0];
        }
        var position = Math.Clamp(level, 0, 1) * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        if (below >= sorted.Length - 1)
        {
            return sorted[^1];
        }
        var fraction = position - below;
        return sorted[below] + (fraction * (sorted[below + 1] - sorted[below]));
    }

    public static double Median(Span<double> scratch)
    {
        scratch.Sort();
        return Quantile(scratch, 0.5);
    }

    /// <summary>
    /// Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations (fine for the tens of sensors a
    /// machine has). Eigenvalues come back in descending order; eigenvector j is column j of <paramref name="vectors"/>.
    /// </summary>
    public static void SymmetricEigen(double[] matrix, int n, double[] values, double[] vectors)
    {
        var a = (double[])matrix.Clone();
        Array.Clear(vectors);
        for (var i = 0; i < n; i++)
        {
            vectors[(i * n) + i] = 1;
        }
        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diagonal = 0;
            for (var p = 0; p < n; p++)
            {
                diagonal += a[(p * n) + p] * a[(p * n) + p];
                for (var q = p + 1; q < n; q++)
                {
                    off += a[(p * n) + q] * a[(p * n) + q];
                }
            }
            if (off <= 1e-30 * diagonal || off == 0)
            {
                break;
            }
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    var apq = a[(p * n) + q];
                    if (apq == 0)
                    {
                        continue;
                    }
                    var theta = (a[(q * n) + q] - a[(p * n) + p]) / (2 * apq);
                    var t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    var c = 1 / Math.Sqrt((t * t) + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var akp = a[(k * n) + p];
                        var akq = a[(k * n) + q];
                        a[(k * n) + p] = (c * akp) - (s * akq);
                        a[(k * n) + q] = (s * akp) + (c * akq);
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var apk = a[(p * n) + k];
                        var aqk = a[(q * n) + k];
                        a[(p * n) + k] = (c * apk) - (s * aqk);
                        a[(q * n) + k] = (s * apk) + (c * aqk);
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var vkp = vectors[(k * n) + p];
                        var vkq = vectors[(k * n) + q];
                        vectors[(k * n) + p] = (c * vkp) - (s * vkq);
                        vectors[(k * n) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        var order = Enumerable.Range(0, n).OrderByDescending(i => a[(i * n) + i]).ThenBy(i => i).ToArray();
        var sorted = new double[n * n];
        for (var j = 0; j < n; j++)
        {
            values[j] = a[(order[j] * n) + order[j]];
            // Sign convention (largest component positive) makes the model bytes independent of rotation order.
            var largest = 0.0;
            for (var k = 0; k < n; k++)
            {
                var v = vectors[(k * n) + order[j]];
                if (Math.Abs(v) > Math.Abs(largest))
                {
                    largest = v;
                }
            }
            var sign = largest < 0 ? -1 : 1;
            for (var k = 0; k < n; k++)
            {
                sorted[(k * n) + j] = sign * vectors[(k * n) + order[j]];
            }
        }
        Array.Copy(sorted, vectors, sorted.Length);
    }

    /// <summary>
    /// Solves A X = B for symmetric positive definite A (n x n) and B (n x m), both row-major, by Cholesky.
    /// Returns false when A is not positive definite.
    /// </summary>
    public static bool SolveSpd(double[] a, int n, double[] b, int m, double[] x)
    {
        var l = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[(i * n) + j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[(i * n) + k] * l[(j * n) + k];
                }
                if (i == j)
                {
                    if (sum <= 0)
                    {
                        return false;
                    }
                    l[(i * n) + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[(i * n) + j] = sum / l[(j * n) + j];
                }
            }
        }
        var y = new double[n];
        for (var c = 0; c < m; c++)
        {
            for (var i = 0; i < n; i++)
            {
                var sum = b[(i * m) + c];
                for (var k = 0; k < i; k++)
                {
                    sum -= l[(i * n) + k] * y[k];
                }
                y[i] = sum / l[(i * n) + i];
            }
            for (var i = n - 1; i >= 0; i--)
            {
                var sum = y[i];
                for (var k = i + 1; k < n; k++)
                {
                    sum -= l[(k * n) + i] * x[(k * m) + c];
                }
                x[(i * m) + c] = sum / l[(i * n) + i];
            }
        }
        return true;
    }
}
