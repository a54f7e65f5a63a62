using System.Diagnostics;
using System.Globalization;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Prediction;
using Pdm.Telemetry;

namespace Pdm.Cli;

/// <summary>A trained model in memory: its artifact, the numbers its fit reports and the settings that made it.</summary>
internal sealed record FittedModel
{
    /// <summary>The registry kind: anomaly, rul or state.</summary>
    public required string Kind { get; init; }

    public required byte[] Artifact { get; init; }
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }

    /// <summary>What the fit did, in one line ("Trained on …").</summary>
    public required string Summary { get; init; }
}

/// <summary>What to fit and from which file; one record per model kind, each with the defaults of `pdm model fit`.</summary>
internal abstract record FitSettings
{
    public required string TrainFile { get; init; }

    /// <summary>The unit of the time column, recorded with the model (the twin's data is in seconds).</summary>
    public string TimeUnit { get; init; } = "s";

    public abstract string Kind { get; }
}

internal sealed record AnomalyFitSettings : FitSettings
{
    public string? TimeColumn { get; init; }
    public double TargetFpr { get; init; } = 0.01;
    public ulong Seed { get; init; } = 1;

    /// <summary>The ISO 10816 table of the vibration sensors; null: no zone check.</summary>
    public IsoZoneBoundaries? IsoZones { get; init; } = IsoZoneBoundaries.Group2Rigid;

    public override string Kind => ModelKinds.Anomaly;
}

internal sealed record RulFitSettings : FitSettings
{
    public string UnitColumn { get; init; } = "unit";
    public string? TimeColumn { get; init; } = "time";
    public string RulColumn { get; init; } = "rul";
    public double Cap { get; init; } = 125;
    public int Seed { get; init; } = 1;
    public IReadOnlyList<string> Ignore { get; init; } = [];

    /// <summary>The features derived from the columns; null: the model's defaults.</summary>
    public RulFeatureOptions? Features { get; init; }

    public override string Kind => ModelKinds.Rul;
}

internal sealed record StateFitSettings : FitSettings
{
    public string LabelColumn { get; init; } = "state";
    public string UnitColumn { get; init; } = "unit";
    public string? TimeColumn { get; init; } = "time";
    public int Seed { get; init; } = 1;
    public IReadOnlyList<string> Ignore { get; init; } = [];

    /// <summary>The features derived from the columns; null: the model's defaults.</summary>
    public RulFeatureOptions? Features { get; init; }

    public override string Kind => ModelKinds.State;
}

/// <summary>
/// The fits behind `pdm model fit` and `pdm model train` (and the demo's default models): read the CSV, train, and
/// return the artifact with its metrics and parameters. Problems with the input are printed with file, row and
/// column, and the result is null.
/// </summary>
internal static class ModelFitting
{
    public static FittedModel? Fit(FitSettings settings) => settings switch
    {
        AnomalyFitSettings anomaly => FitAnomaly(anomaly),
        RulFitSettings rul => FitRul(rul),
        StateFitSettings state => FitState(state),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Kind, "Unknown model kind."),
    };

    private static FittedModel? FitAnomaly(AnomalyFitSettings settings)
    {
        if (!ModelCommand.TryOpen(settings.TrainFile, out var reader))
        {
            return null;
        }
        var clock = Stopwatch.StartNew();
        SensorTableResult read;
        using (reader)
        {
            read = SensorTable.Read(reader, new CsvReadOptions { TimeColumn = settings.TimeColumn });
        }
        if (read.Table is not { } table)
        {
            ModelCommand.Fail(settings.TrainFile, read.Errors.Select(e => e.Message));
            return null;
        }
        var fitted = AnomalyModel.Fit(table, new AnomalyOptions { TargetFalsePositiveRate = settings.TargetFpr, IsoZones = settings.IsoZones }, settings.Seed);
        foreach (var warning in fitted.Warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }
        if (fitted.Model is not { } model)
        {
            ModelCommand.Fail(settings.TrainFile, fitted.Errors);
            return null;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        return new FittedModel
        {
            Kind = settings.Kind,
            Artifact = model.ToBytes(),
            Metrics = new Dictionary<string, double>
            {
                ["threshold"] = model.Threshold,
                ["target_fpr"] = settings.TargetFpr,
                ["training_fpr"] = TrainingFalsePositiveRate(model, table),
                ["rows"] = table.RowCount,
                ["training_seconds"] = Math.Round(seconds, 2),
            },
            Parameters = Parameters(settings, model.FeatureNames, settings.Seed.ToString(CultureInfo.InvariantCulture),
                ("time_column", table.TimeColumn), ("target_fpr", Text(settings.TargetFpr)), ("iso_zones", settings.IsoZones?.Name ?? "none")),
            Summary = $"Trained on {table.RowCount:N0} rows × {table.FeatureNames.Count} features in {seconds:N1} s",
        };
    }

    /// <summary>The share of the (normal) training rows the model flags, replayed causally: the calibrated false-positive rate.</summary>
    private static double TrainingFalsePositiveRate(AnomalyModel model, SensorTable table)
    {
        var scorer = model.CreateScorer();
        var flagged = 0;
        for (var r = 0; r < table.RowCount; r++)
        {
            flagged += scorer.Score(table.Row(r), table.Times[r]).IsAnomaly ? 1 : 0;
        }
        return (double)flagged / table.RowCount;
    }

    private static FittedModel? FitRul(RulFitSettings settings)
    {
        if (!ModelCommand.TryReadUnits(settings.TrainFile, settings.UnitColumn, settings.TimeColumn, settings.RulColumn, null, settings.Ignore,
                out var data, allowMissingTarget: true))
        {
            return null;
        }
        var clock = Stopwatch.StartNew();
        var options = new RulModelOptions { Cap = settings.Cap };
        options = settings.Features is { } features ? options with { Features = features } : options;
        if (data.Units.Count < options.Folds)
        {
            ModelCommand.Fail(settings.TrainFile, [$"{data.Units.Count} units: at least {options.Folds} run-to-failure units are needed"]);
            return null;
        }
        var model = RulModel.Fit(data.Units, options, settings.Seed, data.FeatureNames, data.Targets);
        var seconds = clock.Elapsed.TotalSeconds;
        var rows = data.Units.Sum(u => u.Length);
        return new FittedModel
        {
            Kind = settings.Kind,
            Artifact = Bytes(model.Write),
            Metrics = new Dictionary<string, double>
            {
                ["oof_rmse"] = model.Validation.OutOfFoldRmse,
                ["cap"] = settings.Cap,
                ["units"] = data.Units.Count,
                ["rows"] = rows,
                ["training_seconds"] = Math.Round(seconds, 2),
            },
            Parameters = Parameters(settings, data.FeatureNames, settings.Seed.ToString(CultureInfo.InvariantCulture),
                ("unit_column", settings.UnitColumn), ("time_column", settings.TimeColumn ?? ""), ("rul_column", settings.RulColumn),
                ("cap", Text(settings.Cap)), ("ignore", string.Join(',', settings.Ignore))),
            Summary = $"Trained on {data.Units.Count} units, {rows:N0} rows × {data.FeatureNames.Count} features in {seconds:N1} s; "
                + $"out-of-fold RMSE {model.Validation.OutOfFoldRmse:N2} (capped at {settings.Cap})",
        };
    }

    private static FittedModel? FitState(StateFitSettings settings)
    {
        if (!ModelCommand.TryReadUnits(settings.TrainFile, settings.UnitColumn, settings.TimeColumn, null, settings.LabelColumn, settings.Ignore, out var data))
        {
            return null;
        }
        var clock = Stopwatch.StartNew();
        StateModel model;
        try
        {
            model = StateModel.Fit(data.Units, data.Labels!, settings.Seed, data.FeatureNames, settings.Features);
        }
        catch (ArgumentException exception)
        {
            ModelCommand.Fail(settings.TrainFile, [exception.Message]);
            return null;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var rows = data.Units.Sum(u => u.Length);
        return new FittedModel
        {
            Kind = settings.Kind,
            Artifact = Bytes(model.Write),
            Metrics = new Dictionary<string, double>
            {
                ["training_accuracy"] = StateAccuracy(model, data.Units, data.Labels!),
                ["classes"] = model.Classes.Count,
                ["units"] = data.Units.Count,
                ["rows"] = rows,
                ["training_seconds"] = Math.Round(seconds, 2),
            },
            Parameters = Parameters(settings, data.FeatureNames, settings.Seed.ToString(CultureInfo.InvariantCulture),
                ("label_column", settings.LabelColumn), ("unit_column", settings.UnitColumn), ("time_column", settings.TimeColumn ?? ""),
                ("ignore", string.Join(',', settings.Ignore)), ("classes", string.Join(',', model.Classes))),
            Summary = $"Trained on {data.Units.Count} units, {rows:N0} rows, states {string.Join(", ", model.Classes)} in {seconds:N1} s",
        };
    }

    /// <summary>Share of rows whose most likely state is the label (the state model has no held-out score of its own).</summary>
    public static double StateAccuracy(StateModel model, IReadOnlyList<UnitSeries> units, IReadOnlyList<string[]> labels)
    {
        long right = 0, rows = 0;
        for (var u = 0; u < units.Count; u++)
        {
            var (states, _) = model.Predict(units[u]);
            for (var r = 0; r < states.Length; r++)
            {
                right += string.Equals(states[r], labels[u][r], StringComparison.Ordinal) ? 1 : 0;
            }
            rows += states.Length;
        }
        return rows == 0 ? 0 : (double)right / rows;
    }

    private static Dictionary<string, string> Parameters(FitSettings settings, IEnumerable<string> features, string seed,
        params (string Key, string Value)[] options)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["features"] = string.Join(',', features),
            ["seed"] = seed,
            ["time_unit"] = settings.TimeUnit,
            ["train_file"] = Path.GetFullPath(settings.TrainFile),
        };
        foreach (var (key, value) in options)
        {
            parameters[key] = value;
        }
        return parameters;
    }

    private static byte[] Bytes(Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return buffer.ToArray();
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
