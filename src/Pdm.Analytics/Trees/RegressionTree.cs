namespace Pdm.Analytics.Trees;

/// <summary>
/// One binary regression tree in flat arrays (node 0 is the root). An internal node sends a
/// row left when its feature value is &lt;= the threshold; missing values (NaN, infinities) go
/// the node's learned default way. Leaves carry the (already shrunk) output; every node carries
/// its cover, the number of training rows that reached it, which TreeSHAP weighs paths by.
/// </summary>
public sealed class RegressionTree
{
    private const int Leaf = -1;

    private readonly int[] _feature;
    private readonly double[] _threshold;
    private readonly bool[] _defaultLeft;
    private readonly int[] _left;
    private readonly int[] _right;
    private readonly double[] _value;
    private readonly double[] _cover;

    internal RegressionTree(int[] feature, double[] threshold, bool[] defaultLeft, int[] left, int[] right, double[] value, double[] cover)
    {
        _feature = feature;
        _threshold = threshold;
        _defaultLeft = defaultLeft;
        _left = left;
        _right = right;
        _value = value;
        _cover = cover;
        Depth = DepthOf(0);
    }

    public int NodeCount => _feature.Length;

    /// <summary>Edges on the longest root-to-leaf path.</summary>
    public int Depth { get; }

    public double Predict(ReadOnlySpan<double> features) => _value[LeafFor(features)];

    internal int LeafFor(ReadOnlySpan<double> features)
    {
        var node = 0;
        while (_feature[node] != Leaf)
        {
            node = GoesLeft(node, features) ? _left[node] : _right[node];
        }

        return node;
    }

    internal bool IsLeaf(int node) => _feature[node] == Leaf;

    internal int Feature(int node) => _feature[node];

    internal int Left(int node) => _left[node];

    internal int Right(int node) => _right[node];

    internal double Value(int node) => _value[node];

    internal double Cover(int node) => _cover[node];

    internal bool GoesLeft(int node, ReadOnlySpan<double> features)
    {
        var v = features[_feature[node]];
        return double.IsFinite(v) ? v <= _threshold[node] : _defaultLeft[node];
    }

    /// <summary>Cover-weighted mean of the leaves: the tree's output averaged over its training rows.</summary>
    internal double ExpectedValue()
    {
        double sum = 0;
        for (var node = 0; node < NodeCount; node++)
        {
            if (_feature[node] == Leaf)
            {
                sum += _value[node] * _cover[node];
            }
        }

        return sum / _cover[0];
    }

    private int DepthOf(int node) =>
        _feature[node] == Leaf ? 0 : 1 + Math.Max(DepthOf(_left[node]), DepthOf(_right[node]));

    internal void Write(BinaryWriter writer)
    {
        writer.Write(NodeCount);
        for (var i = 0; i < NodeCount; i++)
        {
            writer.Write(_feature[i]);
            writer.Write(_threshold[i]);
            writer.Write(_defaultLeft[i]);
            writer.Write(_left[i]);
            writer.Write(_right[i]);
            writer.Write(_value[i]);
            writer.Write(_cover[i]);
        }
    }

    internal static RegressionTree Read(BinaryReader reader, int featureCount)
    {
        var count = reader.ReadInt32();
        if (count < 1 || count > 1 << 24)
        {
            throw new InvalidDataException($"Tree node count {count} is out of range.");
        }

        var feature = new int[count];
        var threshold = new double[count];
        var defaultLeft = new bool[count];
        var left = new int[count];
        var right = new int[count];
        var value = new double[count];
        var cover = new double[count];
        for (var i = 0; i < count; i++)
        {
            feature[i] = reader.ReadInt32();
            threshold[i] = reader.ReadDouble();
            defaultLeft[i] = reader.ReadBoolean();
            left[i] = reader.ReadInt32();
            right[i] = reader.ReadInt32();
            value[i] = reader.ReadDouble();
            cover[i] = reader.ReadDouble();
        }

        // Children always come after their parent, so this also rules out cycles.
        for (var i = 0; i < count; i++)
        {
            // TreeSHAP and the expected value divide by cover.
            if (!(cover[i] > 0))
            {
                throw new InvalidDataException($"Tree node {i}: cover {cover[i]} is not positive.");
            }

            if (feature[i] == Leaf)
            {
                continue;
            }

            if (feature[i] < 0 || feature[i] >= featureCount)
            {
                throw new InvalidDataException($"Tree node {i}: feature {feature[i]} is outside 0..{featureCount - 1}.");
            }

            if (left[i] <= i || left[i] >= count || right[i] <= i || right[i] >= count)
            {
                throw new InvalidDataException($"Tree node {i}: children {left[i]}, {right[i]} are not later nodes of the tree.");
            }
        }

        return new RegressionTree(feature, threshold, defaultLeft, left, right, value, cover);
    }
}
