namespace Pdm.Analytics.Rul;

/// <summary>
/// How far the true remaining life falls from a prediction, learned from out-of-fold
/// predictions on held-out units: the residuals (true - predicted) are grouped by the size of
/// the prediction (errors grow with the horizon, and near the cap the truth can be far
/// larger) and kept as quantiles per group. Then
/// P(failure within H) = P(true RUL &lt;= H) = share of the group's residuals r with predicted + r &lt;= H,
/// which can only grow with H. The truth used is uncapped, so horizons beyond the training cap stay meaningful.
/// </summary>
public sealed class RulUncertainty
{
    /// <summary>Quantiles kept per group: enough for a smooth step function, small on disk.</summary>
    private const int QuantilesPerGroup = 200;

    private readonly double[] _upperEdges;
    private readonly double[][] _residuals;

    private RulUncertainty(double[] upperEdges, double[][] residuals)
    {
        _upperEdges = upperEdges;
        _residuals = residuals;
    }

    public int GroupCount => _residuals.Length;

    /// <summary>Groups (predicted, actual) pairs into up to <paramref name="groups"/> equal-count groups by prediction.</summary>
    public static RulUncertainty Fit(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual, int groups = 5)
    {
        if (predicted.Length != actual.Length || predicted.Length == 0)
        {
            throw new ArgumentException($"Need equally many predictions and actuals, at least one ({predicted.Length} vs {actual.Length}).", nameof(actual));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        var order = Enumerable.Range(0, predicted.Length).ToArray();
        var keys = predicted.ToArray();
        Array.Sort(keys, order);
        groups = Math.Min(groups, predicted.Length);
        var edges = new double[groups - 1];
        var residuals = new double[groups][];
        for (var g = 0; g < groups; g++)
        {
            var start = (int)((long)g * order.Length / groups);
            var end = (int)((long)(g + 1) * order.Length / groups);
            var group = new double[end - start];
            for (var i = start; i < end; i++)
            {
                group[i - start] = actual[order[i]] - predicted[order[i]];
            }

            Array.Sort(group);
            residuals[g] = Quantiles(group);
            if (g < groups - 1)
            {
                edges[g] = keys[end - 1];
            }
        }

        return new RulUncertainty(edges, residuals);
    }

    /// <summary>Probability that the unit fails within <paramref name="horizon"/> time units, given the predicted RUL.</summary>
    public double FailureProbability(double predictedRul, double horizon)
    {
        var residuals = GroupFor(predictedRul);
        var limit = horizon - predictedRul;
        // Count of stored quantiles <= limit (upper bound by binary search).
        int low = 0, high = residuals.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (residuals[mid] <= limit)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return (double)low / residuals.Length;
    }

    /// <summary>The <paramref name="probability"/>-quantile of the true RUL, e.g. 0.1 for a pessimistic bound.</summary>
    public double Quantile(double predictedRul, double probability)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1);
        var residuals = GroupFor(predictedRul);
        var index = Math.Min(residuals.Length - 1, (int)(probability * residuals.Length));
        return Math.Max(0, predictedRul + residuals[index]);
    }

    private double[] GroupFor(double predictedRul)
    {
        var g = 0;
        while (g < _upperEdges.Length && predictedRul > _upperEdges[g])
        {
            g++;
        }

        return _residuals[g];
    }

    private static double[] Quantiles(double[] sorted)
    {
        if (sorted.Length <= QuantilesPerGroup)
        {
            return sorted;
        }

        // Midpoint ranks: each kept value stands for an equal share of the group.
        var result = new double[QuantilesPerGroup];
        for (var q = 0; q < QuantilesPerGroup; q++)
        {
            result[q] = sorted[(int)((q + 0.5) * sorted.Length / QuantilesPerGroup)];
        }

        return result;
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(_residuals.Length);
        foreach (var edge in _upperEdges)
        {
            writer.Write(edge);
        }

        foreach (var group in _residuals)
        {
            writer.Write(group.Length);
            foreach (var r in group)
            {
                writer.Write(r);
            }
        }
    }

    internal static RulUncertainty Read(BinaryReader reader)
    {
        var groups = RulFeatureBuilder.Bounded(reader.ReadInt32(), 1, 10_000, "residual group count");
        var edges = new double[groups - 1];
        for (var g = 0; g < edges.Length; g++)
        {
            edges[g] = reader.ReadDouble();
        }

        var residuals = new double[groups][];
        for (var g = 0; g < groups; g++)
        {
            residuals[g] = new double[RulFeatureBuilder.Bounded(reader.ReadInt32(), 1, 1 << 20, "residual count")];
            for (var i = 0; i < residuals[g].Length; i++)
            {
                residuals[g][i] = reader.ReadDouble();
            }
        }

        return new RulUncertainty(edges, residuals);
    }
}
