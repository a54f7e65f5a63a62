namespace Pdm.Analytics.Rul;

/// <summary>What cross-fitting on held-out units measured while training a <see cref="RulModel"/>.</summary>
public sealed record RulValidation
{
    /// <summary>RMSE of out-of-fold predictions against the capped target, over all rows of all units.</summary>
    public required double OutOfFoldRmse { get; init; }

    /// <summary>Same, for the trees alone (before blending with the linear model).</summary>
    public required double OutOfFoldTreeRmse { get; init; }

    /// <summary>Weight of the trees in the blend; 1 - weight goes to the linear model.</summary>
    public required double TreeWeight { get; init; }

    /// <summary>Trees kept by early stopping in each fold model.</summary>
    public required IReadOnlyList<int> FoldIterations { get; init; }
}
