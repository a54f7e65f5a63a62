namespace Pdm.Analytics.Trees;

/// <summary>
/// Exact SHAP values of a tree ensemble's raw output with the polynomial-time TreeSHAP
/// algorithm (Lundberg, Erion and Lee, 2018, Algorithm 2): each tree is explained on its own,
/// weighing paths by node cover, and the ensemble's contributions are the sums. The result
/// satisfies sum(contributions) + expected value == raw prediction.
/// </summary>
public static class TreeShap
{
    /// <summary>
    /// Writes one contribution per feature for raw output <paramref name="output"/> into
    /// <paramref name="contributions"/> and returns the expected value (the base value they add to).
    /// </summary>
    public static double Explain(GbtModel model, ReadOnlySpan<double> features, Span<double> contributions, int output = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (features.Length != model.FeatureCount || contributions.Length != model.FeatureCount)
        {
            throw new ArgumentException($"Features and contributions must both have {model.FeatureCount} entries.", nameof(contributions));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, model.OutputCount);
        contributions.Clear();
        var maxDepth = 0;
        for (var t = output; t < model.Trees.Count; t += model.OutputCount)
        {
            maxDepth = Math.Max(maxDepth, model.Trees[t].Depth);
        }

        // Each recursion level copies the path one slot longer: (D + 2)(D + 3) / 2 elements cover depth D.
        var path = new PathElement[(maxDepth + 2) * (maxDepth + 3) / 2];
        for (var t = output; t < model.Trees.Count; t += model.OutputCount)
        {
            Recurse(model.Trees[t], 0, features, contributions, path, 0, 0, 1, 1, -1);
        }

        return model.ExpectedValue(output);
    }

    private static void Recurse(
        RegressionTree tree,
        int node,
        ReadOnlySpan<double> x,
        Span<double> phi,
        PathElement[] buffer,
        int parentOffset,
        int uniqueDepth,
        double parentZeroFraction,
        double parentOneFraction,
        int parentFeature)
    {
        // This level's path lives right after the parent's, so siblings never clobber each other.
        var offset = parentOffset + uniqueDepth + 1;
        Array.Copy(buffer, parentOffset, buffer, offset, uniqueDepth + 1);

        var path = buffer.AsSpan(offset);
        Extend(path, uniqueDepth, parentZeroFraction, parentOneFraction, parentFeature);

        if (tree.IsLeaf(node))
        {
            var value = tree.Value(node);
            for (var i = 1; i <= uniqueDepth; i++)
            {
                var weight = UnwoundSum(path, uniqueDepth, i);
                ref readonly var element = ref path[i];
                phi[element.Feature] += weight * (element.OneFraction - element.ZeroFraction) * value;
            }

            return;
        }

        var feature = tree.Feature(node);
        var (hot, cold) = tree.GoesLeft(node, x) ? (tree.Left(node), tree.Right(node)) : (tree.Right(node), tree.Left(node));
        var cover = tree.Cover(node);
        var hotZeroFraction = tree.Cover(hot) / cover;
        var coldZeroFraction = tree.Cover(cold) / cover;
        double incomingZeroFraction = 1;
        double incomingOneFraction = 1;

        // A feature split on again higher up is removed first: it appears once on the unique path.
        var pathIndex = 0;
        while (pathIndex <= uniqueDepth && path[pathIndex].Feature != feature)
        {
            pathIndex++;
        }

        if (pathIndex <= uniqueDepth)
        {
            incomingZeroFraction = path[pathIndex].ZeroFraction;
            incomingOneFraction = path[pathIndex].OneFraction;
            Unwind(path, uniqueDepth, pathIndex);
            uniqueDepth--;
        }

        Recurse(tree, hot, x, phi, buffer, offset, uniqueDepth + 1, hotZeroFraction * incomingZeroFraction, incomingOneFraction, feature);
        Recurse(tree, cold, x, phi, buffer, offset, uniqueDepth + 1, coldZeroFraction * incomingZeroFraction, 0, feature);
    }

    private static void Extend(Span<PathElement> path, int uniqueDepth, double zeroFraction, double oneFraction, int feature)
    {
        path[uniqueDepth] = new PathElement(feature, zeroFraction, oneFraction, uniqueDepth == 0 ? 1 : 0);
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            path[i + 1].Weight += oneFraction * path[i].Weight * (i + 1) / (uniqueDepth + 1);
            path[i].Weight = zeroFraction * path[i].Weight * (uniqueDepth - i) / (uniqueDepth + 1);
        }
    }

    private static void Unwind(Span<PathElement> path, int uniqueDepth, int pathIndex)
    {
        var oneFraction = path[pathIndex].OneFraction;
        var zeroFraction = path[pathIndex].ZeroFraction;
        var nextOnePortion = path[uniqueDepth].Weight;
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            if (oneFraction != 0)
            {
                var previous = path[i].Weight;
                path[i].Weight = nextOnePortion * (uniqueDepth + 1) / ((i + 1) * oneFraction);
                nextOnePortion = previous - (path[i].Weight * zeroFraction * (uniqueDepth - i) / (uniqueDepth + 1));
            }
            else
            {
                path[i].Weight = path[i].Weight * (uniqueDepth + 1) / (zeroFraction * (uniqueDepth - i));
            }
        }

        for (var i = pathIndex; i < uniqueDepth; i++)
        {
            path[i].Feature = path[i + 1].Feature;
            path[i].ZeroFraction = path[i + 1].ZeroFraction;
            path[i].OneFraction = path[i + 1].OneFraction;
        }
    }

    /// <summary>Total weight of the path with element <paramref name="pathIndex"/> unwound, without changing it.</summary>
    private static double UnwoundSum(Span<PathElement> path, int uniqueDepth, int pathIndex)
    {
        var oneFraction = path[pathIndex].OneFraction;
        var zeroFraction = path[pathIndex].ZeroFraction;
        var nextOnePortion = path[uniqueDepth].Weight;
        double total = 0;
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            if (oneFraction != 0)
            {
                var weight = nextOnePortion * (uniqueDepth + 1) / ((i + 1) * oneFraction);
                total += weight;
                nextOnePortion = path[i].Weight - (weight * zeroFraction * (uniqueDepth - i) / (uniqueDepth + 1));
            }
            else
            {
                total += path[i].Weight / zeroFraction / ((double)(uniqueDepth - i) / (uniqueDepth + 1));
            }
        }

        return total;
    }

    private struct PathElement(int feature, double zeroFraction, double oneFraction, double weight)
    {
        public int Feature = feature;
        public double ZeroFraction = zeroFraction;
        public double OneFraction = oneFraction;
        public double Weight = weight;
    }
}
