namespace Pdm.Analytics.Rul;

/// <summary>Which causal features <see cref="RulFeatureBuilder"/> derives from each kept measurement.</summary>
public sealed record RulFeatureOptions
{
    /// <summary>Rolling windows, in rows, for means and slopes (fewer rows at a unit's start).</summary>
    public IReadOnlyList<int> Windows { get; init; } = [5, 10, 20, 30];

    /// <summary>Least-squares slope against time over each window: the rate of degradation.</summary>
    public bool IncludeSlopes { get; init; } = true;

    /// <summary>
    /// Longest-window mean minus the mean of the unit's first <see cref="BaselineRows"/> rows:
    /// removes each unit's own starting level (manufacturing spread, sensor offsets).
    /// </summary>
    public bool IncludeBaselineDelta { get; init; } = true;

    public int BaselineRows { get; init; } = 10;

    /// <summary>Time since the unit's first row.</summary>
    public bool IncludeAge { get; init; } = true;

    /// <summary>A column whose training standard deviation is at most this times max(1, |mean|) carries no information and is dropped.</summary>
    public double ConstantTolerance { get; init; } = 1e-9;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Windows.Count == 0 || Windows.Any(w => w < 2))
        {
            errors.Add("Windows must hold at least one window of 2 or more rows.");
        }

        if (BaselineRows < 1)
        {
            errors.Add($"BaselineRows {BaselineRows} must be at least 1.");
        }

        if (!(ConstantTolerance >= 0))
        {
            errors.Add($"ConstantTolerance {ConstantTolerance} must be non-negative.");
        }

        return errors;
    }
}
