namespace Pdm.Analytics.Trees;

/// <summary>
/// A trained gradient-boosted tree ensemble. Raw output k is base score k plus the sum of
/// that output's trees; trees are stored iteration-major (K per iteration, one per output).
/// Prediction walks the trees over a span of features and allocates nothing.
/// </summary>
public sealed class GbtModel
{
    /// <summary>Serialized format version; bump when the layout changes.</summary>
    public const int FormatVersion = 1;

    private static ReadOnlySpan<byte> Magic => "PDMGBT"u8;

    private readonly RegressionTree[] _trees;
    private readonly double[] _baseScores;

    internal GbtModel(GbtObjective objective, int featureCount, double[] baseScores, RegressionTree[] trees)
    {
        Objective = objective;
        FeatureCount = featureCount;
        _baseScores = baseScores;
        _trees = trees;
    }

    public GbtObjective Objective { get; }

    public int FeatureCount { get; }

    /// <summary>1 for regression and binary classification, the class count for softmax.</summary>
    public int OutputCount => _baseScores.Length;

    /// <summary>Boosting iterations kept (after early stopping).</summary>
    public int IterationCount => _trees.Length / OutputCount;

    public IReadOnlyList<RegressionTree> Trees => _trees;

    /// <summary>Raw output of a single-output model: the regression value or the log-odds of class 1.</summary>
    public double PredictRaw(ReadOnlySpan<double> features)
    {
        if (OutputCount != 1)
        {
            throw new InvalidOperationException($"The model has {OutputCount} outputs; use PredictRaw(features, output).");
        }

        return RawOutput(features, 0);
    }

    /// <summary>Raw outputs (one per class for softmax) into <paramref name="output"/>.</summary>
    public void PredictRaw(ReadOnlySpan<double> features, Span<double> output)
    {
        if (output.Length != OutputCount)
        {
            throw new ArgumentException($"Output span has {output.Length} slots, the model has {OutputCount} outputs.", nameof(output));
        }

        for (var k = 0; k < OutputCount; k++)
        {
            output[k] = RawOutput(features, k);
        }
    }

    /// <summary>The regression value, or the probability of class 1 for a logistic model.</summary>
    public double Predict(ReadOnlySpan<double> features) => Objective switch
    {
        GbtObjective.SquaredError => RawOutput(features, 0),
        GbtObjective.Logistic => Sigmoid(RawOutput(features, 0)),
        _ => throw new InvalidOperationException("A softmax model predicts classes or probabilities, not one value."),
    };

    /// <summary>Class probabilities: [P(0), P(1)] for logistic, the softmax for multiclass.</summary>
    public void PredictProbabilities(ReadOnlySpan<double> features, Span<double> probabilities)
    {
        switch (Objective)
        {
            case GbtObjective.Logistic:
                if (probabilities.Length != 2)
                {
                    throw new ArgumentException("A logistic model has 2 class probabilities.", nameof(probabilities));
                }

                var p = Sigmoid(RawOutput(features, 0));
                probabilities[0] = 1 - p;
                probabilities[1] = p;
                break;
            case GbtObjective.Softmax:
                PredictRaw(features, probabilities);
                Softmax(probabilities);
                break;
            default:
                throw new InvalidOperationException("A regression model has no class probabilities.");
        }
    }

    /// <summary>Mean raw output over the training rows: the SHAP base value of output <paramref name="output"/>.</summary>
    public double ExpectedValue(int output = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, OutputCount);
        var sum = _baseScores[output];
        for (var t = output; t < _trees.Length; t += OutputCount)
        {
            sum += _trees[t].ExpectedValue();
        }

        return sum;
    }

    internal double BaseScore(int output) => _baseScores[output];

    internal double RawOutput(ReadOnlySpan<double> features, int output)
    {
        if (features.Length != FeatureCount)
        {
            throw new ArgumentException($"Expected {FeatureCount} features, got {features.Length}.", nameof(features));
        }

        var sum = _baseScores[output];
        for (var t = output; t < _trees.Length; t += OutputCount)
        {
            sum += _trees[t].Predict(features);
        }

        return sum;
    }

    internal static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    internal static void Softmax(Span<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = Math.Exp(values[k] - max);
            sum += values[k];
        }

        for (var k = 0; k < values.Length; k++)
        {
            values[k] /= sum;
        }
    }

    /// <summary>Writes the model: magic, format version, objective, shapes, base scores, trees (little-endian).</summary>
    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        Write(writer);
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write((int)Objective);
        writer.Write(FeatureCount);
        writer.Write(OutputCount);
        writer.Write(_trees.Length);
        foreach (var score in _baseScores)
        {
            writer.Write(score);
        }

        foreach (var tree in _trees)
        {
            tree.Write(writer);
        }
    }

    /// <summary>Reads a model written by <see cref="Write(Stream)"/>; a damaged or foreign stream throws <see cref="InvalidDataException"/>.</summary>
    public static GbtModel Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        return Read(reader);
    }

    internal static GbtModel Read(BinaryReader reader)
    {
        try
        {
            var magic = reader.ReadBytes(Magic.Length);
            if (!magic.AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException("Not a PDM gradient-boosted model: magic bytes differ.");
            }

            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"Model format version {version} is not supported (expected {FormatVersion}).");
            }

            var objective = (GbtObjective)reader.ReadInt32();
            if (!Enum.IsDefined(objective))
            {
                throw new InvalidDataException($"Unknown objective {(int)objective}.");
            }

            var featureCount = reader.ReadInt32();
            var outputCount = reader.ReadInt32();
            var treeCount = reader.ReadInt32();
            if (featureCount < 1 || outputCount < 1 || treeCount < 0 || treeCount % outputCount != 0)
            {
                throw new InvalidDataException($"Inconsistent shape: {featureCount} features, {outputCount} outputs, {treeCount} trees.");
            }

            var baseScores = new double[outputCount];
            for (var k = 0; k < outputCount; k++)
            {
                baseScores[k] = reader.ReadDouble();
            }

            var trees = new RegressionTree[treeCount];
            for (var t = 0; t < treeCount; t++)
            {
                trees[t] = RegressionTree.Read(reader, featureCount);
            }

            return new GbtModel(objective, featureCount, baseScores, trees);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Model stream ends early.", e);
        }
    }
}
