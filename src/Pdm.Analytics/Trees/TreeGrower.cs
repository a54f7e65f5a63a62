namespace Pdm.Analytics.Trees;

/// <summary>
/// Grows one tree on gradients and hessians, best-first: the leaf whose split lowers the
/// regularised loss most is split next, until the leaf or depth limit or no split gains.
/// Split search scans per-feature histograms of quantile bins; a child's histogram is the
/// parent's minus its smaller sibling's, so only the smaller child is ever scanned.
/// Features are processed in parallel, each writing only its own histogram slice in row order,
/// so results do not depend on thread timing.
/// </summary>
internal sealed class TreeGrower
{
    /// <summary>Below this many (row, feature) cells a parallel loop costs more than it saves.</summary>
    private const long ParallelCells = 64_000;

    /// <summary>A child needs some curvature, or -G/H explodes for saturated logistic rows.</summary>
    private const double MinChildHessian = 1e-3;

    private readonly byte[][] _bins;
    private readonly QuantileBinner _binner;
    private readonly GbtOptions _options;
    private readonly int[] _offsets;
    private readonly int _histogramSize;
    private readonly Stack<HistogramBin[]> _pool = new();
    private int[] _scratch = [];
    private double[] _orderedGradients = [];

    public TreeGrower(byte[][] bins, QuantileBinner binner, GbtOptions options)
    {
        _bins = bins;
        _binner = binner;
        _options = options;
        _offsets = new int[bins.Length];
        for (var f = 0; f < bins.Length; f++)
        {
            _offsets[f] = _histogramSize;
            _histogramSize += binner.ValueBinCount(f) + 1;
        }
    }

    /// <summary>
    /// Grows a tree over <paramref name="rows"/> (reordered in place) using only the allowed
    /// features, and adds each row's leaf value to <c>raw[row * stride + rawOutput]</c>: the grower
    /// already knows every sampled row's leaf, so the caller need not walk the tree for them.
    /// </summary>
    public RegressionTree Grow(double[] gradients, double[] hessians, int[] rows, bool[] featureAllowed, double[] raw, int stride, int rawOutput)
    {
        if (_scratch.Length < rows.Length)
        {
            _scratch = new int[rows.Length];
            _orderedGradients = new double[rows.Length];
        }

        // Squared error has unit hessians: then a bin's hessian sum is its count and need not be summed.
        var unitHessians = _options.Objective == GbtObjective.SquaredError;
        var context = new GrowContext(gradients, hessians, rows, featureAllowed, unitHessians);
        var output = new TreeBuilder();
        double g = 0, h = 0;
        foreach (var r in rows)
        {
            g += gradients[r];
            h += hessians[r];
        }

        var root = new GrowNode(0, rows.Length, g, h, depth: 0, output.AddNode(LeafValue(g, h), rows.Length));
        root.Histogram = Rent();
        BuildHistogram(context, root);
        Evaluate(context, root);

        var candidates = new List<GrowNode> { root };
        var leaves = 1;
        while (leaves < _options.LeafLimit)
        {
            var next = PickBest(candidates);
            if (next is null)
            {
                break;
            }

            candidates.Remove(next);
            var (left, right) = Split(context, next, output);
            candidates.Add(left);
            candidates.Add(right);
            Evaluate(context, left);
            Evaluate(context, right);
            leaves++;
        }

        var tree = output.Build();
        foreach (var node in candidates)
        {
            Release(node);
            var value = tree.Value(node.OutputIndex);
            foreach (var r in rows.AsSpan(node.Start, node.Count))
            {
                raw[(r * stride) + rawOutput] += value;
            }
        }

        return tree;
    }

    private static GrowNode? PickBest(List<GrowNode> candidates)
    {
        GrowNode? best = null;
        foreach (var node in candidates)
        {
            // Strict comparison: ties go to the older leaf, keeping growth order deterministic.
            if (node.Best is { } split && (best is null || split.Gain > best.Best!.Value.Gain))
            {
                best = node;
            }
        }

        return best;
    }

    private (GrowNode Left, GrowNode Right) Split(GrowContext context, GrowNode parent, TreeBuilder output)
    {
        var split = parent.Best!.Value;
        var leftCount = Partition(context.Rows, parent.Start, parent.Count, split);
        var rightG = parent.G - split.LeftG;
        var rightH = parent.H - split.LeftH;
        var depth = parent.Depth + 1;
        var left = new GrowNode(parent.Start, leftCount, split.LeftG, split.LeftH, depth,
            output.AddNode(LeafValue(split.LeftG, split.LeftH), leftCount));
        var right = new GrowNode(parent.Start + leftCount, parent.Count - leftCount, rightG, rightH, depth,
            output.AddNode(LeafValue(rightG, rightH), parent.Count - leftCount));
        output.SetSplit(parent.OutputIndex, split.Feature, _binner.Threshold(split.Feature, split.Bin), split.DefaultLeft,
            left.OutputIndex, right.OutputIndex);

        // Scan the smaller child; the larger inherits the parent's histogram minus the smaller one.
        var (small, large) = left.Count <= right.Count ? (left, right) : (right, left);
        if (CanSplit(small) || CanSplit(large))
        {
            small.Histogram = Rent();
            BuildHistogram(context, small);
            large.Histogram = parent.Histogram;
            parent.Histogram = null;
            Subtract(context, large.Histogram!, small.Histogram);
        }

        Release(parent);
        return (left, right);
    }

    private int Partition(int[] rows, int start, int count, SplitCandidate split)
    {
        // Stable, so rows stay ascending within a node and histogram reads stay close to sequential.
        var column = _bins[split.Feature];
        var leftCount = 0;
        var rightCount = 0;
        for (var i = start; i < start + count; i++)
        {
            var r = rows[i];
            var bin = column[r];
            var goesLeft = bin == 0 ? split.DefaultLeft : bin <= split.Bin;
            if (goesLeft)
            {
                rows[start + leftCount++] = r;
            }
            else
            {
                _scratch[rightCount++] = r;
            }
        }

        Array.Copy(_scratch, 0, rows, start + leftCount, rightCount);
        return leftCount;
    }

    private bool CanSplit(GrowNode node) =>
        node.Depth < _options.MaxDepth && node.Count >= 2 * _options.MinSamplesLeaf;

    private void Evaluate(GrowContext context, GrowNode node)
    {
        if (!CanSplit(node) || node.Histogram is null)
        {
            Release(node);
            return;
        }

        var features = _bins.Length;
        var perFeature = new SplitCandidate?[features];
        if ((long)node.Count * features >= ParallelCells)
        {
            Parallel.For(0, features, f => perFeature[f] = BestSplit(context, node, f));
        }
        else
        {
            for (var f = 0; f < features; f++)
            {
                perFeature[f] = BestSplit(context, node, f);
            }
        }

        SplitCandidate? best = null;
        foreach (var candidate in perFeature)
        {
            if (candidate is { } c && (best is null || c.Gain > best.Value.Gain))
            {
                best = c;
            }
        }

        node.Best = best;
        if (best is null)
        {
            Release(node);
        }
    }

    private SplitCandidate? BestSplit(GrowContext context, GrowNode node, int feature)
    {
        if (!context.FeatureAllowed[feature])
        {
            return null;
        }

        var histogram = node.Histogram!;
        var offset = _offsets[feature];
        var valueBins = _binner.ValueBinCount(feature);
        var missing = histogram[offset];
        var lambda = _options.L2;
        var parentScore = node.G * node.G / (node.H + lambda);
        var minLeaf = _options.MinSamplesLeaf;

        SplitCandidate? best = null;
        var bestGain = _options.MinSplitGain;
        double gl = 0, hl = 0;
        var cl = 0;
        for (var bin = 1; bin <= valueBins; bin++)
        {
            ref readonly var b = ref histogram[offset + bin];
            gl += b.Gradient;
            hl += b.Hessian;
            cl += b.Count;

            // Missing rows go right, then (if there are any) left; keep whichever gains more.
            for (var missingLeft = 0; missingLeft <= (missing.Count > 0 ? 1 : 0); missingLeft++)
            {
                var g = gl + (missingLeft * missing.Gradient);
                var h = hl + (missingLeft * missing.Hessian);
                var c = cl + (missingLeft * missing.Count);
                var gr = node.G - g;
                var hr = node.H - h;
                var cr = node.Count - c;
                if (c < minLeaf || cr < minLeaf || h < MinChildHessian || hr < MinChildHessian)
                {
                    continue;
                }

                var gain = (g * g / (h + lambda)) + (gr * gr / (hr + lambda)) - parentScore;
                if (gain > bestGain)
                {
                    bestGain = gain;
                    // Without missing rows in training, unseen missing values follow the larger side.
                    var defaultLeft = missing.Count > 0 ? missingLeft == 1 : c >= cr;
                    best = new SplitCandidate(feature, bin, defaultLeft, gain, g, h);
                }
            }
        }

        return best;
    }

    private void BuildHistogram(GrowContext context, GrowNode node)
    {
        // Gather the node's gradients once into row order; every feature then reads them sequentially.
        var ordered = _orderedGradients.AsSpan(node.Start, node.Count);
        var gradients = context.Gradients;
        var rows = context.Rows.AsSpan(node.Start, node.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            ordered[i] = gradients[rows[i]];
        }

        var features = _bins.Length;
        if ((long)node.Count * features >= ParallelCells)
        {
            Parallel.For(0, features, f => BuildFeatureHistogram(context, node, f));
        }
        else
        {
            for (var f = 0; f < features; f++)
            {
                BuildFeatureHistogram(context, node, f);
            }
        }
    }

    private void BuildFeatureHistogram(GrowContext context, GrowNode node, int feature)
    {
        if (!context.FeatureAllowed[feature])
        {
            return;
        }

        var slice = node.Histogram.AsSpan(_offsets[feature], _binner.ValueBinCount(feature) + 1);
        slice.Clear();
        var column = _bins[feature];
        var gradients = _orderedGradients.AsSpan(node.Start, node.Count);
        var rows = context.Rows.AsSpan(node.Start, node.Count);
        if (context.UnitHessians)
        {
            for (var i = 0; i < rows.Length; i++)
            {
                ref var bin = ref slice[column[rows[i]]];
                bin.Gradient += gradients[i];
                bin.Count++;
            }

            foreach (ref var bin in slice)
            {
                bin.Hessian = bin.Count;
            }

            return;
        }

        var hessians = context.Hessians;
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            ref var bin = ref slice[column[r]];
            bin.Gradient += gradients[i];
            bin.Hessian += hessians[r];
            bin.Count++;
        }
    }

    private void Subtract(GrowContext context, HistogramBin[] target, HistogramBin[] other)
    {
        for (var f = 0; f < _bins.Length; f++)
        {
            if (!context.FeatureAllowed[f])
            {
                continue;
            }

            var end = _offsets[f] + _binner.ValueBinCount(f) + 1;
            for (var i = _offsets[f]; i < end; i++)
            {
                target[i].Gradient -= other[i].Gradient;
                target[i].Hessian -= other[i].Hessian;
                target[i].Count -= other[i].Count;
            }
        }
    }

    private double LeafValue(double g, double h) => -g / (h + _options.L2) * _options.LearningRate;

    private HistogramBin[] Rent() => _pool.Count > 0 ? _pool.Pop() : new HistogramBin[_histogramSize];

    private void Release(GrowNode node)
    {
        if (node.Histogram is not null)
        {
            _pool.Push(node.Histogram);
            node.Histogram = null;
        }
    }

    private sealed record GrowContext(double[] Gradients, double[] Hessians, int[] Rows, bool[] FeatureAllowed, bool UnitHessians);

    private sealed class GrowNode(int start, int count, double g, double h, int depth, int outputIndex)
    {
        public int Start { get; } = start;

        public int Count { get; } = count;

        public double G { get; } = g;

        public double H { get; } = h;

        public int Depth { get; } = depth;

        public int OutputIndex { get; } = outputIndex;

        public HistogramBin[]? Histogram { get; set; }

        public SplitCandidate? Best { get; set; }
    }

    private readonly record struct SplitCandidate(int Feature, int Bin, bool DefaultLeft, double Gain, double LeftG, double LeftH);

    private struct HistogramBin
    {
        public double Gradient;
        public double Hessian;
        public int Count;
    }

    /// <summary>Collects nodes in creation order: a child is always added after its parent.</summary>
    private sealed class TreeBuilder
    {
        private readonly List<int> _feature = [];
        private readonly List<double> _threshold = [];
        private readonly List<bool> _defaultLeft = [];
        private readonly List<int> _left = [];
        private readonly List<int> _right = [];
        private readonly List<double> _value = [];
        private readonly List<double> _cover = [];

        public int AddNode(double value, int cover)
        {
            _feature.Add(-1);
            _threshold.Add(0);
            _defaultLeft.Add(false);
            _left.Add(-1);
            _right.Add(-1);
            _value.Add(value);
            _cover.Add(cover);
            return _feature.Count - 1;
        }

        public void SetSplit(int node, int feature, double threshold, bool defaultLeft, int left, int right)
        {
            _feature[node] = feature;
            _threshold[node] = threshold;
            _defaultLeft[node] = defaultLeft;
            _left[node] = left;
            _right[node] = right;
        }

        public RegressionTree Build() => new([.. _feature], [.. _threshold], [.. _defaultLeft], [.. _left], [.. _right], [.. _value], [.. _cover]);
    }
}
