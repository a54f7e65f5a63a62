namespace Pdm.Analytics.Anomaly;

/// <summary>
/// What the detectors start from, per column of a row-major block of samples (NaN = missing): median, robust scale
/// (1.4826 × median absolute deviation, or the standard deviation where more than half the values are equal), the
/// values with gaps filled by the column's last value (its median before any), and their mean and standard deviation.
/// Shared by <see cref="AnomalyModel.Fit"/> and the warm-up of <see cref="MachineAnomalyTracker"/>.
/// </summary>
internal sealed class ColumnStatistics
{
    private ColumnStatistics(double[] medians, double[] robustScales, double[] imputed, double[] mean, double[] scale,
        int[] emptyColumns)
    {
        Medians = medians;
        RobustScales = robustScales;
        Imputed = imputed;
        Mean = mean;
        Scale = scale;
        EmptyColumns = emptyColumns;
    }

    public double[] Medians { get; }

    public double[] RobustScales { get; }

    public double[] Imputed { get; }

    public double[] Mean { get; }

    public double[] Scale { get; }

    /// <summary>Columns without a single finite value; when there are any, only this is filled in.</summary>
    public int[] EmptyColumns { get; }

    public static ColumnStatistics Of(ReadOnlySpan<double> values, int p)
    {
        var rows = values.Length / p;
        var medians = new double[p];
        var robustScales = new double[p];
        var column = new double[rows];
        var empty = new List<int>();
        for (var i = 0; i < p; i++)
        {
            var count = 0;
            for (var r = 0; r < rows; r++)
            {
                var v = values[(r * p) + i];
                if (double.IsFinite(v))
                {
                    column[count++] = v;
                }
            }
            if (count == 0)
            {
                empty.Add(i);
                continue;
            }
            var observed = column.AsSpan(0, count);
            medians[i] = Numerics.Median(observed);
            for (var j = 0; j < count; j++)
            {
                observed[j] = Math.Abs(observed[j] - medians[i]);
            }
            robustScales[i] = 1.4826 * Numerics.Median(observed);
        }
        if (empty.Count > 0)
        {
            return new ColumnStatistics([], [], [], [], [], [.. empty]);
        }

        var imputed = Impute(values, p, medians);
        var (mean, scale) = MeanAndScale(imputed, p, medians);
        for (var i = 0; i < p; i++)
        {
            if (robustScales[i] <= 0)
            {
                // More than half the values equal: the standard deviation still sees the rest.
                robustScales[i] = scale[i];
            }
        }
        return new ColumnStatistics(medians, robustScales, imputed, mean, scale, []);
    }

    private static double[] Impute(ReadOnlySpan<double> values, int p, double[] medians)
    {
        var imputed = values.ToArray();
        var last = (double[])medians.Clone();
        for (var r = 0; r < imputed.Length; r += p)
        {
            for (var i = 0; i < p; i++)
            {
                ref var v = ref imputed[r + i];
                if (double.IsFinite(v))
                {
                    last[i] = v;
                }
                else
                {
                    v = last[i];
                }
            }
        }
        return imputed;
    }

    private static (double[] Mean, double[] Scale) MeanAndScale(double[] imputed, int p, double[] medians)
    {
        var rows = imputed.Length / p;
        var mean = new double[p];
        var scale = new double[p];
        for (var i = 0; i < p; i++)
        {
            double sum = 0;
            for (var r = 0; r < rows; r++)
            {
                sum += imputed[(r * p) + i];
            }
            mean[i] = sum / rows;
            double squares = 0;
            for (var r = 0; r < rows; r++)
            {
                var d = imputed[(r * p) + i] - mean[i];
                squares += d * d;
            }
            // A constant sensor gets a tiny scale: any change in it is then far outside normal.
            scale[i] = Math.Max(Math.Sqrt(squares / Math.Max(1, rows - 1)), 1e-6 * (Math.Abs(medians[i]) + 1));
        }
        return (mean, scale);
    }
}
