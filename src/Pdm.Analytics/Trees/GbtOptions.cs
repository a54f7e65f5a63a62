namespace Pdm.Analytics.Trees;

/// <summary>
/// Hyper-parameters of gradient-boosted trees. Defaults lean to robust rather than tuned:
/// a small learning rate, leaf-limited trees, minimum leaf size and L2 on leaf values,
/// with early stopping doing the rest when a validation set is given.
/// </summary>
public sealed record GbtOptions
{
    public GbtObjective Objective { get; init; } = GbtObjective.SquaredError;

    /// <summary>Number of classes for <see cref="GbtObjective.Softmax"/>; ignored otherwise.</summary>
    public int ClassCount { get; init; } = 2;

    public int MaxIterations { get; init; } = 500;

    public double LearningRate { get; init; } = 0.05;

    /// <summary>Maximum depth of a tree (root has depth 0).</summary>
    public int MaxDepth { get; init; } = 6;

    /// <summary>Maximum leaves per tree, grown best-first; 0 means only <see cref="MaxDepth"/> limits the tree.</summary>
    public int MaxLeaves { get; init; } = 31;

    public int MinSamplesLeaf { get; init; } = 20;

    /// <summary>L2 penalty on leaf values (lambda in -G / (H + lambda)).</summary>
    public double L2 { get; init; } = 1.0;

    /// <summary>A split must improve the regularised loss by more than this.</summary>
    public double MinSplitGain { get; init; }

    /// <summary>Fraction of rows drawn (without replacement) for each iteration.</summary>
    public double RowSubsample { get; init; } = 1.0;

    /// <summary>Fraction of features a tree may split on.</summary>
    public double ColumnSubsample { get; init; } = 1.0;

    /// <summary>Quantile bins per feature (2..255); one more bin holds missing values.</summary>
    public int MaxBins { get; init; } = 255;

    /// <summary>Stop when the validation loss has not improved for this many iterations (needs a validation set).</summary>
    public int EarlyStoppingRounds { get; init; } = 50;

    /// <summary>Problems with these options, one message each; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Objective == GbtObjective.Softmax && ClassCount < 2)
        {
            errors.Add($"ClassCount {ClassCount} must be at least 2 for softmax.");
        }

        if (MaxIterations < 1)
        {
            errors.Add($"MaxIterations {MaxIterations} must be at least 1.");
        }

        if (!(LearningRate > 0 && LearningRate <= 1))
        {
            errors.Add($"LearningRate {LearningRate} must be in (0, 1].");
        }

        if (MaxDepth is < 1 or > 30)
        {
            errors.Add($"MaxDepth {MaxDepth} must be in 1..30.");
        }

        if (MaxLeaves is < 0 or 1)
        {
            errors.Add($"MaxLeaves {MaxLeaves} must be 0 (depth only) or at least 2.");
        }

        if (MinSamplesLeaf < 1)
        {
            errors.Add($"MinSamplesLeaf {MinSamplesLeaf} must be at least 1.");
        }

        if (!(L2 >= 0))
        {
            errors.Add($"L2 {L2} must be non-negative.");
        }

        if (!(MinSplitGain >= 0))
        {
            errors.Add($"MinSplitGain {MinSplitGain} must be non-negative.");
        }

        if (!(RowSubsample > 0 && RowSubsample <= 1))
        {
            errors.Add($"RowSubsample {RowSubsample} must be in (0, 1].");
        }

        if (!(ColumnSubsample > 0 && ColumnSubsample <= 1))
        {
            errors.Add($"ColumnSubsample {ColumnSubsample} must be in (0, 1].");
        }

        if (MaxBins is < 2 or > 255)
        {
            errors.Add($"MaxBins {MaxBins} must be in 2..255.");
        }

        if (EarlyStoppingRounds < 1)
        {
            errors.Add($"EarlyStoppingRounds {EarlyStoppingRounds} must be at least 1.");
        }

        return errors;
    }

    /// <summary>The effective leaf limit: <see cref="MaxLeaves"/>, or what <see cref="MaxDepth"/> allows.</summary>
    internal int LeafLimit => MaxLeaves > 0 ? MaxLeaves : 1 << Math.Min(MaxDepth, 30);
}
