using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Health;

/// <summary>
/// A health-state classifier (HEALTHY / WARNING / FAULTY / BROKEN, or any labels a data set has): gradient-boosted
/// trees over the same causal per-unit features as the remaining-life model (current values, rolling means and slopes,
/// drift from the unit's start), so the state at a row depends only on that row and the ones before it.
/// </summary>
public sealed class StateModel
{
    public const int FormatVersion = 1;
    private const string Magic = "PDMSTATE";

    private readonly RulFeatureBuilder _features;
    private readonly GbtModel _trees;
    private readonly string[] _classes;

    private StateModel(RulFeatureBuilder features, GbtModel trees, string[] classes)
    {
        _features = features;
        _trees = trees;
        _classes = classes;
    }

    /// <summary>The labels, in the order of the model's outputs (ordinal sort of the training labels).</summary>
    public IReadOnlyList<string> Classes => _classes;

    public IReadOnlyList<string> FeatureNames => _features.FeatureNames;

    /// <summary>The causal feature builder; its <see cref="RulFeatureBuilder.InputNames"/> are the columns the model reads.</summary>
    public RulFeatureBuilder Features => _features;

    /// <summary>
    /// Trains on labelled units; a fifth of the units (chosen with the seed) decide when boosting stops. Same data and
    /// seed give the same model, byte for byte.
    /// </summary>
    public static StateModel Fit(IReadOnlyList<UnitSeries> units, IReadOnlyList<string[]> labels, int seed,
        IReadOnlyList<string>? columnNames = null, RulFeatureOptions? featureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count != units.Count || labels.Where((l, u) => l.Length != units[u].Length).Any())
        {
            throw new ArgumentException("One label per row of every unit is needed.", nameof(labels));
        }
        var classes = labels.SelectMany(l => l).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
        {
            throw new ArgumentException($"At least two different labels are needed; the data has only '{classes.FirstOrDefault()}'.", nameof(labels));
        }
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (double)p.i, StringComparer.Ordinal);

        var features = RulFeatureBuilder.Fit(units, featureOptions ?? new RulFeatureOptions(), columnNames);
        var order = Enumerable.Range(0, units.Count).ToArray();
        new Random(seed).Shuffle(order);
        var validationCount = units.Count >= 5 ? units.Count / 5 : 0;
        var validation = order[..validationCount];
        var training = order[validationCount..];
        var (trainX, trainY) = Stack(units, labels, features, index, training);
        var options = new GbtOptions
        {
            Objective = GbtObjective.Softmax,
            ClassCount = classes.Length,
            MaxIterations = 300,
            LearningRate = 0.1,
            EarlyStoppingRounds = validationCount > 0 ? 20 : 0,
        };
        GbtModel trees;
        if (validationCount > 0)
        {
            var (validX, validY) = Stack(units, labels, features, index, validation);
            trees = GbtTrainer.Fit(trainX, trainY, options, seed, validX, validY);
        }
        else
        {
            trees = GbtTrainer.Fit(trainX, trainY, options, seed);
        }
        return new StateModel(features, trees, classes);
    }

    /// <summary>The most likely state at every row of the unit, and its probability.</summary>
    public (string[] States, double[] Probabilities) Predict(UnitSeries unit)
    {
        var x = _features.Transform(unit);
        var states = new string[x.Rows];
        var probabilities = new double[x.Rows];
        Span<double> p = stackalloc double[_classes.Length];
        for (var r = 0; r < x.Rows; r++)
        {
            _trees.PredictProbabilities(x.Row(r), p);
            var best = 0;
            for (var c = 1; c < p.Length; c++)
            {
                if (p[c] > p[best])
                {
                    best = c;
                }
            }
            states[r] = _classes[best];
            probabilities[r] = p[best];
        }
        return (states, probabilities);
    }

    /// <summary>
    /// The state after the unit's last row with every class's probability, and why: exact TreeSHAP values of the
    /// predicted class's raw score (its log-odds before the softmax), per feature;
    /// <c>ExpectedValue + sum(Contributions)</c> is that score.
    /// </summary>
    public StateExplanation ExplainLast(UnitSeries unit)
    {
        var x = _features.Transform(unit);
        var row = x.Row(x.Rows - 1);
        var probabilities = new double[_classes.Length];
        _trees.PredictProbabilities(row, probabilities);
        var best = Array.IndexOf(probabilities, probabilities.Max());
        var scores = new double[_classes.Length];
        _trees.PredictRaw(row, scores);
        var contributions = new double[row.Length];
        var expected = TreeShap.Explain(_trees, row, contributions, best);
        return new StateExplanation(_classes[best], probabilities, scores[best], expected, contributions);
    }

    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic.ToCharArray());
        writer.Write(FormatVersion);
        writer.Write(_classes.Length);
        foreach (var name in _classes)
        {
            writer.Write(name);
        }
        _features.Write(writer);
        _trees.Write(writer);
    }

    /// <summary>Reads a model written by <see cref="Write"/>; a damaged or foreign stream throws <see cref="InvalidDataException"/>.</summary>
    public static StateModel Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (new string(reader.ReadChars(Magic.Length)) != Magic)
            {
                throw new InvalidDataException("Not a PDM state model: magic bytes differ.");
            }
            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"State model format version {version} is not supported (expected {FormatVersion}).");
            }
            var classes = new string[RulFeatureBuilder.Bounded(reader.ReadInt32(), 2, 1000, "class count")];
            for (var i = 0; i < classes.Length; i++)
            {
                classes[i] = reader.ReadString();
            }
            var features = RulFeatureBuilder.Read(reader);
            var trees = GbtModel.Read(reader);
            if (trees.OutputCount != classes.Length || trees.FeatureCount != features.FeatureNames.Count)
            {
                throw new InvalidDataException("The state model's trees do not match its classes or features.");
            }
            return new StateModel(features, trees, classes);
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("The state model is truncated.", exception);
        }
    }

    /// <summary>Whether a file starts like a state model (to tell model kinds apart).</summary>
    public static bool IsStateModel(ReadOnlySpan<byte> start) =>
        start.Length >= Magic.Length && System.Text.Encoding.ASCII.GetString(start[..Magic.Length]) == Magic;

    private static (FeatureMatrix X, double[] Y) Stack(IReadOnlyList<UnitSeries> units, IReadOnlyList<string[]> labels,
        RulFeatureBuilder features, Dictionary<string, double> index, int[] which) =>
        (FeatureMatrix.Concat([.. which.Select(u => features.Transform(units[u]))]),
         [.. which.SelectMany(u => labels[u].Select(l => index[l]))]);
}
