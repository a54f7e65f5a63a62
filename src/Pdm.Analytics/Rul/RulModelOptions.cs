using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>Settings of <see cref="RulModel"/>. Defaults were chosen by held-out-unit validation, for robustness across data sets.</summary>
public sealed record RulModelOptions
{
    /// <summary>Targets are capped here: a healthy unit's remaining life cannot be read from its sensors.</summary>
    public double Cap { get; init; } = 125;

    public RulFeatureOptions Features { get; init; } = new();

    /// <summary>Trees per fold model; early stopping on the held-out units decides how many are kept.</summary>
    public GbtOptions Gbt { get; init; } = new()
    {
        MaxIterations = 1000,
        LearningRate = 0.05,
        MaxDepth = 6,
        MaxLeaves = 15,
        MinSamplesLeaf = 40,
        L2 = 1,
        RowSubsample = 0.8,
        ColumnSubsample = 0.5,
        MaxBins = 64,
        EarlyStoppingRounds = 50,
    };

    /// <summary>
    /// Units are split into this many folds; each fold's model trains on the other units and
    /// stops early on its own. The model averages the fold models, and their out-of-fold
    /// predictions give honest validation error, the blend weight and the residuals.
    /// </summary>
    public int Folds { get; init; } = 5;

    /// <summary>Blend in a ridge regression on the same features, weighted by out-of-fold fit (0 weight when it does not help).</summary>
    public bool BlendLinear { get; init; } = true;

    /// <summary>Ridge penalty per training row on standardised features.</summary>
    public double RidgePenalty { get; init; } = 1e-3;

    /// <summary>Groups of predictions with their own residual distribution for failure probabilities.</summary>
    public int UncertaintyGroups { get; init; } = 5;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(Cap > 0))
        {
            errors.Add($"Cap {Cap} must be positive.");
        }

        if (Folds < 2)
        {
            errors.Add($"Folds {Folds} must be at least 2.");
        }

        if (!(RidgePenalty > 0))
        {
            errors.Add($"RidgePenalty {RidgePenalty} must be positive.");
        }

        if (UncertaintyGroups < 1)
        {
            errors.Add($"UncertaintyGroups {UncertaintyGroups} must be at least 1.");
        }

        errors.AddRange(Features.Validate());
        errors.AddRange(Gbt.Validate());
        if (Gbt.Objective != GbtObjective.SquaredError)
        {
            errors.Add("Gbt.Objective must be SquaredError for remaining-life regression.");
        }

        return errors;
    }
}
