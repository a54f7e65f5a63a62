namespace Pdm.Analytics.Trees;

/// <summary>
/// Maps each feature to at most <c>maxBins</c> value bins cut at training quantiles, so split
/// search scans a histogram of bins instead of sorted values. Bin 0 holds missing values
/// (NaN, infinities); value bin b (1-based) holds values v with cut[b-2] &lt; v &lt;= cut[b-1].
/// </summary>
internal sealed class QuantileBinner
{
    /// <summary>Rows beyond this are sampled with a fixed stride to find cuts: quantiles need no more.</summary>
    private const int MaxRowsForCuts = 200_000;

    private readonly double[][] _cuts;

    private QuantileBinner(double[][] cuts) => _cuts = cuts;

    /// <summary>Value bins of a feature (missing bin not counted).</summary>
    public int ValueBinCount(int feature) => _cuts[feature].Length + 1;

    /// <summary>The split threshold that sends value bins 1..<paramref name="bin"/> left.</summary>
    public double Threshold(int feature, int bin)
    {
        var cuts = _cuts[feature];
        return bin - 1 < cuts.Length ? cuts[bin - 1] : double.PositiveInfinity;
    }

    public static QuantileBinner Fit(FeatureMatrix data, int maxBins)
    {
        var stride = Math.Max(1, (data.Rows + MaxRowsForCuts - 1) / MaxRowsForCuts);
        var cuts = new double[data.Columns][];
        var values = new List<double>(data.Rows / stride + 1);
        for (var f = 0; f < data.Columns; f++)
        {
            values.Clear();
            for (var r = 0; r < data.Rows; r += stride)
            {
                var v = data[r, f];
                if (double.IsFinite(v))
                {
                    values.Add(v);
                }
            }

            values.Sort();
            cuts[f] = CutsFor(values, maxBins);
        }

        return new QuantileBinner(cuts);
    }

    private static double[] CutsFor(List<double> sorted, int maxBins)
    {
        var distinct = new List<double>();
        foreach (var v in sorted)
        {
            if (distinct.Count == 0 || v != distinct[^1])
            {
                distinct.Add(v);
            }
        }

        var cuts = new List<double>();
        if (distinct.Count <= maxBins)
        {
            // Few distinct values: one bin each, cut halfway so unseen values fall to the nearer side.
            for (var i = 0; i + 1 < distinct.Count; i++)
            {
                AddCut(cuts, distinct[i] + ((distinct[i + 1] - distinct[i]) / 2));
            }
        }
        else
        {
            for (var k = 1; k < maxBins; k++)
            {
                AddCut(cuts, sorted[(int)((long)k * sorted.Count / maxBins)]);
            }

            // The largest value must not share a cut with everything below it being "left".
            if (cuts.Count > 0 && cuts[^1] >= distinct[^1])
            {
                cuts.RemoveAt(cuts.Count - 1);
            }
        }

        return [.. cuts];
    }

    private static void AddCut(List<double> cuts, double cut)
    {
        if (cuts.Count == 0 || cut > cuts[^1])
        {
            cuts.Add(cut);
        }
    }

    /// <summary>Bins every column, column-major: histogram building reads one feature at a time.</summary>
    public byte[][] Transform(FeatureMatrix data)
    {
        var columns = new byte[data.Columns][];
        for (var f = 0; f < data.Columns; f++)
        {
            var cuts = _cuts[f];
            var column = new byte[data.Rows];
            for (var r = 0; r < data.Rows; r++)
            {
                column[r] = Bin(cuts, data[r, f]);
            }

            columns[f] = column;
        }

        return columns;
    }

    private static byte Bin(double[] cuts, double value)
    {
        if (!double.IsFinite(value))
        {
            return 0;
        }

        // First cut >= value; BinarySearch returns its complement when the value is not a cut.
        var index = Array.BinarySearch(cuts, value);
        if (index < 0)
        {
            index = ~index;
        }

        return (byte)(index + 1);
    }
}
