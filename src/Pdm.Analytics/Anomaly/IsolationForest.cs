using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Isolation Forest (Liu, Ting and Zhou 2008): each tree splits a random subsample on random features at random
/// thresholds up to depth ceil(log2 subsample); a sample that is isolated in few splits is anomalous. The score is
/// 2^(-E[h(x)]/c(subsample)) in (0, 1], 0.5 and below for ordinary samples.
/// <para>
/// Attribution: exact TreeSHAP on isolation trees is unusual (the trees carry no prediction to explain), so each
/// tree credits the features it split on along the sample's path with 1/h^2 per split, h being that tree's path
/// length: trees that isolate the sample quickly count most, and within them the features that did it.
/// </para>
/// </summary>
internal sealed class IsolationForest
{
    private readonly Node[] _nodes;
    private readonly int[] _roots;
    private readonly double _normalizer;

    private IsolationForest(Node[] nodes, int[] roots, int features, int subsample)
    {
        _nodes = nodes;
        _roots = roots;
        Features = features;
        Subsample = subsample;
        _normalizer = AveragePathLength(subsample);
    }

    public int Features { get; }

    public int Subsample { get; }

    public int Trees => _roots.Length;

    public int NodeCount => _nodes.Length;

    /// <summary>Fits on rows x features (row-major); deterministic for a seed.</summary>
    public static IsolationForest Fit(ReadOnlySpan<double> rows, int features, int trees, int subsample, ulong seed)
    {
        var count = rows.Length / features;
        var size = Math.Min(subsample, count);
        var heightLimit = (int)Math.Ceiling(Math.Log2(Math.Max(2, size)));
        var random = new SplitMix64(seed);
        var permutation = Enumerable.Range(0, count).ToArray();
        var sample = new int[size];
        var nodes = new List<Node>(trees * size);
        var roots = new int[trees];
        var builder = new Builder(rows.ToArray(), features, heightLimit, nodes);
        for (var t = 0; t < trees; t++)
        {
            // Partial Fisher-Yates: the first `size` entries are a uniform sample without replacement.
            for (var j = 0; j < size; j++)
            {
                var pick = j + random.Next(count - j);
                (permutation[j], permutation[pick]) = (permutation[pick], permutation[j]);
            }
            permutation.AsSpan(0, size).CopyTo(sample);
            roots[t] = nodes.Count;
            nodes.Add(default);
            builder.Grow(roots[t], sample, 0, ref random);
        }
        return new IsolationForest([.. nodes], roots, features, size);
    }

    /// <summary>Scores one feature vector; <paramref name="attribution"/> (length Features) gets the path credit.</summary>
    public double Score(ReadOnlySpan<double> x, Span<double> attribution)
    {
        if (x.Length < Features || attribution.Length < Features)
        {
            throw new ArgumentException($"expected {Features} features");
        }
        attribution.Clear();
        Span<int> path = stackalloc int[64];
        // The hot loop of the ensemble: unchecked reads, safe because Read validated every link and feature
        // index against the node count and Features, and the spans were checked above.
        ref var nodes = ref MemoryMarshal.GetArrayDataReference(_nodes);
        ref var values = ref MemoryMarshal.GetReference(x);
        double total = 0;
        foreach (var root in _roots)
        {
            var index = root;
            var depth = 0;
            while (true)
            {
                ref readonly var node = ref Unsafe.Add(ref nodes, index);
                if (node.Feature < 0)
                {
                    break;
                }
                path[depth++] = node.Feature;
                index = node.Left + (Unsafe.Add(ref values, node.Feature) < node.Value ? 0 : 1);
            }
            var length = Unsafe.Add(ref nodes, index).Value;
            total += length;
            var credit = 1 / Math.Max(1, length * length);
            for (var j = 0; j < depth; j++)
            {
                attribution[path[j]] += credit;
            }
        }
        return Math.Pow(2, -(total / _roots.Length) / _normalizer);
    }

    /// <summary>c(n): the average path length of an unsuccessful search in a binary search tree of n items.</summary>
    internal static double AveragePathLength(int n) => n switch
    {
        <= 1 => 0,
        2 => 1,
        _ => (2 * (Math.Log(n - 1) + 0.5772156649015329)) - (2.0 * (n - 1) / n),
    };

    public void Write(BinaryWriter writer)
    {
        writer.Write(Features);
        writer.Write(Subsample);
        writer.Write(_roots.Length);
        foreach (var root in _roots)
        {
            writer.Write(root);
        }
        writer.Write(_nodes.Length);
        foreach (var node in _nodes)
        {
            writer.Write(node.Value);
            writer.Write(node.Feature);
            writer.Write(node.Left);
        }
    }

    public static IsolationForest Read(BinaryReader reader, int expectedFeatures)
    {
        var features = ModelFormat.ReadCount(reader, expectedFeatures, expectedFeatures, "isolation forest features");
        var subsample = ModelFormat.ReadCount(reader, 1, 1 << 20, "isolation forest subsample");
        var trees = ModelFormat.ReadCount(reader, 1, 100_000, "isolation forest trees");
        var roots = new int[trees];
        for (var t = 0; t < trees; t++)
        {
            roots[t] = reader.ReadInt32();
        }
        var count = ModelFormat.ReadCount(reader, trees, 1 << 28, "isolation forest nodes");
        var nodes = new Node[count];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = new Node(reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt32());
        }
        if (roots.Any(r => r < 0 || r >= count))
        {
            throw new InvalidDataException("isolation forest root out of range");
        }
        // Children always follow their parent, so one forward pass checks links and bounds the depth for Score.
        var depths = new int[count];
        for (var i = 0; i < count; i++)
        {
            var n = nodes[i];
            if (n.Feature < -1 || n.Feature >= features || depths[i] >= 63
                || (n.Feature >= 0 && (n.Left <= i || n.Left + 1 >= count)))
            {
                throw new InvalidDataException($"isolation forest node {i} is malformed");
            }
            if (n.Feature >= 0)
            {
                depths[n.Left] = depths[i] + 1;
                depths[n.Left + 1] = depths[i] + 1;
            }
        }
        return new IsolationForest(nodes, roots, features, subsample);
    }

    /// <summary>A split (Feature >= 0: go left when x[Feature] &lt; Value, children at Left and Left + 1) or a
    /// leaf (Feature = -1, Value = path length: depth + c(samples left)).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Node(double Value, int Feature, int Left);

    private sealed class Builder(double[] rows, int features, int heightLimit, List<Node> nodes)
    {
        private readonly int[] _candidates = new int[features];
        private readonly double[] _min = new double[features];
        private readonly double[] _max = new double[features];

        public void Grow(int index, Span<int> sample, int depth, ref SplitMix64 random)
        {
            if (depth >= heightLimit || sample.Length <= 1)
            {
                nodes[index] = new Node(depth + AveragePathLength(sample.Length), -1, 0);
                return;
            }
            _min.AsSpan().Fill(double.PositiveInfinity);
            _max.AsSpan().Fill(double.NegativeInfinity);
            foreach (var row in sample)
            {
                var offset = row * features;
                for (var f = 0; f < features; f++)
                {
                    var v = rows[offset + f];
                    _min[f] = Math.Min(_min[f], v);
                    _max[f] = Math.Max(_max[f], v);
                }
            }
            var candidates = 0;
            for (var f = 0; f < features; f++)
            {
                if (_max[f] > _min[f])
                {
                    _candidates[candidates++] = f;
                }
            }
            if (candidates == 0)
            {
                nodes[index] = new Node(depth + AveragePathLength(sample.Length), -1, 0);
                return;
            }
            var feature = _candidates[random.Next(candidates)];
            var threshold = _min[feature] + (random.NextDouble() * (_max[feature] - _min[feature]));

            var left = 0;
            for (var i = 0; i < sample.Length; i++)
            {
                if (rows[(sample[i] * features) + feature] < threshold)
                {
                    (sample[left], sample[i]) = (sample[i], sample[left]);
                    left++;
                }
            }
            var child = nodes.Count;
            nodes.Add(default);
            nodes.Add(default);
            nodes[index] = new Node(threshold, feature, child);
            Grow(child, sample[..left], depth + 1, ref random);
            Grow(child + 1, sample[left..], depth + 1, ref random);
        }
    }
}
