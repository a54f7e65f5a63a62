using Pdm.Telemetry;
namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Weights of the ensemble parts. "Statistical" is the more surprising of the robust EWMA detector and PCA
/// (T^2 and Q): both model normal data without time, one sensor at a time and all sensors together.
/// </summary>
public sealed record AnomalyWeights(double IsolationForest, double Statistical, double Temporal)
{
    public static AnomalyWeights Default { get; } = new(0.4, 0.2, 0.4);

    public double Total => IsolationForest + Statistical + Temporal;
}

/// <summary>Training settings of <see cref="AnomalyModel.Fit"/>. The defaults are meant to hold without tuning.</summary>
public sealed record AnomalyOptions
{
    public AnomalyWeights Weights { get; init; } = AnomalyWeights.Default;

    /// <summary>Share of normal training samples allowed above the threshold.</summary>
    public double TargetFalsePositiveRate { get; init; } = 0.01;

    public int Trees { get; init; } = 100;

    public int SubsampleSize { get; init; } = 256;

    /// <summary>Past samples the temporal model predicts from.</summary>
    public int TemporalLags { get; init; } = 3;

    /// <summary>Ridge penalty of the temporal model, on standardised values.</summary>
    public double TemporalRidge { get; init; } = 1.0;

    /// <summary>EWMA rate of the robust baseline (the spread adapts at a quarter of it).</summary>
    public double StatisticalAlpha { get; init; } = 0.1;

    /// <summary>EWMA rate of the rolling level; the isolation forest sees each value and its departure from it.</summary>
    public double LevelAlpha { get; init; } = 0.1;

    public bool UsePca { get; init; } = true;

    /// <summary>Share of the standardised variance the PCA components keep.</summary>
    public double PcaVarianceExplained { get; init; } = 0.9;

    /// <summary>ISO 10816 zone boundaries for vibration sensors; null turns the check off.</summary>
    public IsoZoneBoundaries? IsoZones { get; init; } = IsoZoneBoundaries.Group2Rigid;

    /// <summary>Features the ISO check applies to (mm/s RMS); null takes the catalog names vibration, vibration_x/y/z.</summary>
    public IReadOnlyCollection<string>? VibrationSensors { get; init; }

    /// <summary>
    /// A time step longer than this many typical steps (or time going backwards) starts a new stretch: the lag
    /// history restarts from the current sample instead of comparing across the gap.
    /// </summary>
    public double GapFactor { get; init; } = 10;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var w = Weights;
        if (w is null || w.IsolationForest < 0 || w.Statistical < 0 || w.Temporal < 0 || !(w.Total > 0))
        {
            errors.Add("weights must be non-negative and not all zero");
        }
        Check(TargetFalsePositiveRate is > 0 and < 0.5, "target false-positive rate must be in (0, 0.5)");
        Check(Trees is >= 1 and <= 10_000, "trees must be in 1..10000");
        Check(SubsampleSize is >= 2 and <= 65_536, "subsample size must be in 2..65536");
        Check(TemporalLags is >= 1 and <= 16, "temporal lags must be in 1..16");
        Check(TemporalRidge >= 0, "temporal ridge must be non-negative");
        Check(StatisticalAlpha is > 0 and <= 1, "statistical alpha must be in (0, 1]");
        Check(LevelAlpha is > 0 and <= 1, "level alpha must be in (0, 1]");
        Check(PcaVarianceExplained is > 0 and <= 1, "PCA variance explained must be in (0, 1]");
        Check(GapFactor > 1, "gap factor must be above 1");
        return errors;

        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }
    }
}

/// <summary>The fitted model, or why there is none; warnings are worth showing either way.</summary>
public sealed record AnomalyFitResult(AnomalyModel? Model, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    public bool IsSuccess => Model is not null;
}

/// <summary>
/// One scored sample. Scores are in surprise units (-log10 of how rare the sample is among normal training data:
/// 2 = 1 in 100); <see cref="Score"/> is the weighted mean of the parts and is anomalous above
/// <see cref="Threshold"/>, or whenever a vibration sensor is in ISO zone C or D.
/// <see cref="TopSensor"/> is the index of the sensor contributing most (see <see cref="MachineScorer.Contributions"/>).
/// </summary>
public readonly record struct AnomalyScore(
    double Score,
    double Threshold,
    bool IsAnomaly,
    double IsolationForest,
    double Statistical,
    double RobustEwma,
    double Pca,
    double Temporal,
    VibrationZone Zone,
    int TopSensor,
    double TopContribution);
