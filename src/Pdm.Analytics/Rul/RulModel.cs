using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>
/// Remaining-useful-life model for units observed until failure: causal rolling features
/// (<see cref="RulFeatureBuilder"/>), gradient-boosted trees cross-fitted over folds of
/// units and averaged, optionally blended with a ridge regression, and an empirical residual
/// distribution for failure probabilities. Prediction at row t uses rows 0..t of that unit only.
/// </summary>
public sealed class RulModel
{
    public const int FormatVersion = 1;

    private static ReadOnlySpan<byte> Magic => "PDMRUL"u8;

    private readonly RulFeatureBuilder _features;
    private readonly GbtModel[] _trees;
    private readonly RidgeRegression? _linear;

    private RulModel(double cap, RulFeatureBuilder features, GbtModel[] trees, RidgeRegression? linear, RulUncertainty uncertainty, RulValidation validation)
    {
        Cap = cap;
        _features = features;
        _trees = trees;
        _linear = linear;
        Uncertainty = uncertainty;
        Validation = validation;
    }

    public double Cap { get; }

    public RulFeatureBuilder Features => _features;

    /// <summary>The fold models; their mean is the tree part of a prediction.</summary>
    public IReadOnlyList<GbtModel> TreeModels => _trees;

    public RulUncertainty Uncertainty { get; }

    public RulValidation Validation { get; }

    /// <summary>
    /// Trains on units that each ran until failure (last row = failure), or, with <paramref name="remainingLife"/>, on
    /// the remaining life given for every row (uncapped; the cap is applied here). Same units, options and seed give
    /// the same model, byte for byte.
    /// </summary>
    public static RulModel Fit(IReadOnlyList<UnitSeries> units, RulModelOptions options, int seed, IReadOnlyList<string>? columnNames = null,
        IReadOnlyList<double[]>? remainingLife = null)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (units.Count < options.Folds)
        {
            problems.Add($"{units.Count} units cannot fill {options.Folds} folds.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        var features = RulFeatureBuilder.Fit(units, options.Features, columnNames);
        var x = units.Select(features.Transform).ToArray();
        var uncappedTargets = remainingLife?.ToArray() ?? [.. units.Select(u => RulTargets.RemainingTime(u))];
        if (uncappedTargets.Length != units.Count || uncappedTargets.Where((t, u) => t.Length != units[u].Length).Any())
        {
            throw new ArgumentException("One remaining life per row of every unit is needed.", nameof(remainingLife));
        }
        var capped = uncappedTargets.Select(t => t.Select(v => Math.Min(v, options.Cap)).ToArray()).ToArray();
        var fold = AssignFolds(units.Count, options.Folds, seed);
        var random = new Random(seed);

        var oofTrees = units.Select(u => new double[u.Length]).ToArray();
        var oofLinear = units.Select(u => new double[u.Length]).ToArray();
        var trees = new GbtModel[options.Folds];
        for (var f = 0; f < options.Folds; f++)
        {
            var inFold = Enumerable.Range(0, units.Count).Where(u => fold[u] == f).ToArray();
            var outFold = Enumerable.Range(0, units.Count).Where(u => fold[u] != f).ToArray();
            var (trainX, trainY) = Stack(x, capped, outFold);
            var (validX, validY) = Stack(x, capped, inFold);
            trees[f] = GbtTrainer.Fit(trainX, trainY, options.Gbt, random.Next(), validX, validY);
            var linear = options.BlendLinear ? RidgeRegression.Fit(trainX, trainY, options.RidgePenalty) : null;
            foreach (var u in inFold)
            {
                for (var r = 0; r < units[u].Length; r++)
                {
                    oofTrees[u][r] = trees[f].Predict(x[u].Row(r));
                    oofLinear[u][r] = linear?.Predict(x[u].Row(r)) ?? 0;
                }
            }
        }

        var treeWeight = options.BlendLinear ? BlendWeight(oofTrees, oofLinear, capped) : 1;
        var oof = new List<double>();
        var truth = new List<double>();
        var cappedTruth = new List<double>();
        var oofTreeOnly = new List<double>();
        for (var u = 0; u < units.Count; u++)
        {
            var uncapped = uncappedTargets[u];
            for (var r = 0; r < units[u].Length; r++)
            {
                oof.Add(Combine(oofTrees[u][r], oofLinear[u][r], treeWeight, options.Cap));
                oofTreeOnly.Add(Math.Clamp(oofTrees[u][r], 0, options.Cap));
                truth.Add(uncapped[r]);
                cappedTruth.Add(capped[u][r]);
            }
        }

        RidgeRegression? finalLinear = null;
        if (treeWeight < 1)
        {
            var (allX, allY) = Stack(x, capped, [.. Enumerable.Range(0, units.Count)]);
            finalLinear = RidgeRegression.Fit(allX, allY, options.RidgePenalty);
        }

        var validation = new RulValidation
        {
            OutOfFoldRmse = RulEvaluation.Rmse(oof.ToArray(), cappedTruth.ToArray()),
            OutOfFoldTreeRmse = RulEvaluation.Rmse(oofTreeOnly.ToArray(), cappedTruth.ToArray()),
            TreeWeight = treeWeight,
            FoldIterations = [.. trees.Select(t => t.IterationCount)],
        };
        var uncertainty = RulUncertainty.Fit(oof.ToArray(), truth.ToArray(), options.UncertaintyGroups);
        return new RulModel(options.Cap, features, trees, finalLinear, uncertainty, validation);
    }

    /// <summary>Predicted remaining life at every row of <paramref name="unit"/>, each from that row and the ones before it.</summary>
    public double[] Predict(UnitSeries unit)
    {
        var x = _features.Transform(unit);
        var result = new double[x.Rows];
        for (var r = 0; r < x.Rows; r++)
        {
            result[r] = PredictRow(x.Row(r));
        }

        return result;
    }

    /// <summary>Predicted remaining life after the unit's last row.</summary>
    public double PredictLast(UnitSeries unit) => Predict(unit)[^1];

    /// <summary>Probability of failure within <paramref name="horizon"/> time units, given a predicted RUL.</summary>
    public double FailureProbability(double predictedRul, double horizon) => Uncertainty.FailureProbability(predictedRul, horizon);

    /// <summary>
    /// Why the model predicts what it does after the unit's last row: exact SHAP values of the blend, per feature.
    /// The trees' part is TreeSHAP of each fold model (averaged like their predictions); the ridge part, when the
    /// model has one, is linear SHAP (weight times standardised distance from the training mean). Because both are
    /// additive and the blend is linear, <c>ExpectedValue + sum(Contributions) == RawPrediction</c>; the prediction
    /// itself is that value clamped to [0, <see cref="Cap"/>].
    /// </summary>
    public RulExplanation ExplainLast(UnitSeries unit)
    {
        var x = _features.Transform(unit);
        var row = x.Row(x.Rows - 1);
        var treeWeight = _linear is null ? 1 : Validation.TreeWeight;
        var contributions = new double[row.Length];
        var part = new double[row.Length];
        double expected = 0;
        foreach (var model in _trees)
        {
            var share = treeWeight / _trees.Length;
            expected += share * TreeShap.Explain(model, row, part);
            for (var i = 0; i < part.Length; i++)
            {
                contributions[i] += share * part[i];
            }
        }

        if (_linear is not null)
        {
            expected += (1 - treeWeight) * _linear.Contributions(row, part);
            for (var i = 0; i < part.Length; i++)
            {
                contributions[i] += (1 - treeWeight) * part[i];
            }
        }

        var raw = expected + contributions.Sum();
        return new RulExplanation(Math.Clamp(raw, 0, Cap), raw, expected, contributions);
    }

    private double PredictRow(ReadOnlySpan<double> features)
    {
        double trees = 0;
        foreach (var model in _trees)
        {
            trees += model.Predict(features);
        }

        trees /= _trees.Length;
        return _linear is null
            ? Math.Clamp(trees, 0, Cap)
            : Combine(trees, _linear.Predict(features), Validation.TreeWeight, Cap);
    }

    private static double Combine(double trees, double linear, double treeWeight, double cap) =>
        Math.Clamp((treeWeight * trees) + ((1 - treeWeight) * linear), 0, cap);

    /// <summary>Units shuffled with the seed, then dealt round-robin: folds differ in size by at most one unit.</summary>
    private static int[] AssignFolds(int units, int folds, int seed)
    {
        var order = Enumerable.Range(0, units).ToArray();
        new Random(seed).Shuffle(order);
        var fold = new int[units];
        for (var i = 0; i < units; i++)
        {
            fold[order[i]] = i % folds;
        }

        return fold;
    }

    private static (FeatureMatrix X, double[] Y) Stack(FeatureMatrix[] x, double[][] y, int[] units) =>
        (FeatureMatrix.Concat([.. units.Select(u => x[u])]), [.. units.SelectMany(u => y[u])]);

    /// <summary>Least-squares weight w in w * trees + (1 - w) * linear, clamped to [0, 1].</summary>
    private static double BlendWeight(double[][] trees, double[][] linear, double[][] target)
    {
        double numerator = 0, denominator = 0;
        for (var u = 0; u < trees.Length; u++)
        {
            for (var r = 0; r < trees[u].Length; r++)
            {
                var difference = trees[u][r] - linear[u][r];
                numerator += difference * (target[u][r] - linear[u][r]);
                denominator += difference * difference;
            }
        }

        return denominator > 0 ? Math.Clamp(numerator / denominator, 0, 1) : 1;
    }

    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(Cap);
        _features.Write(writer);
        writer.Write(_trees.Length);
        foreach (var model in _trees)
        {
            model.Write(writer);
        }

        writer.Write(_linear is not null);
        _linear?.Write(writer);
        Uncertainty.Write(writer);
        writer.Write(Validation.OutOfFoldRmse);
        writer.Write(Validation.OutOfFoldTreeRmse);
        writer.Write(Validation.TreeWeight);
        foreach (var iterations in Validation.FoldIterations)
        {
            writer.Write(iterations);
        }
    }

    /// <summary>Reads a model written by <see cref="Write"/>; a damaged or foreign stream throws <see cref="InvalidDataException"/>.</summary>
    public static RulModel Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException("Not a PDM RUL model: magic bytes differ.");
            }

            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"RUL model format version {version} is not supported (expected {FormatVersion}).");
            }

            var cap = reader.ReadDouble();
            var features = RulFeatureBuilder.Read(reader);
            var trees = new GbtModel[RulFeatureBuilder.Bounded(reader.ReadInt32(), 1, 1000, "fold model count")];
            for (var i = 0; i < trees.Length; i++)
            {
                trees[i] = GbtModel.Read(reader);
                if (trees[i].FeatureCount != features.FeatureNames.Count)
                {
                    throw new InvalidDataException($"Fold model {i} expects {trees[i].FeatureCount} features, the feature builder makes {features.FeatureNames.Count}.");
                }
            }

            var linear = reader.ReadBoolean() ? RidgeRegression.Read(reader, features.FeatureNames.Count) : null;
            var uncertainty = RulUncertainty.Read(reader);
            var validation = new RulValidation
            {
                OutOfFoldRmse = reader.ReadDouble(),
                OutOfFoldTreeRmse = reader.ReadDouble(),
                TreeWeight = reader.ReadDouble(),
                FoldIterations = [.. trees.Select(_ => reader.ReadInt32())],
            };
            return new RulModel(cap, features, trees, linear, uncertainty, validation);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("RUL model stream ends early.", e);
        }
    }
}

/// <summary>A remaining-life prediction split into one additive contribution per model feature (see <see cref="RulModel.ExplainLast"/>).</summary>
/// <param name="Prediction">The model's prediction: <paramref name="RawPrediction"/> clamped to [0, cap].</param>
/// <param name="RawPrediction">The blend before clamping; <paramref name="ExpectedValue"/> plus the contributions.</param>
/// <param name="ExpectedValue">The mean prediction over the training rows (the SHAP base value).</param>
/// <param name="Contributions">One per feature, in the order of <see cref="RulFeatureBuilder.FeatureNames"/>.</param>
public sealed record RulExplanation(double Prediction, double RawPrediction, double ExpectedValue, IReadOnlyList<double> Contributions);
