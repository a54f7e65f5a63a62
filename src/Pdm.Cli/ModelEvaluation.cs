using System.Globalization;
using System.Text.Json;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Prediction;

namespace Pdm.Cli;

/// <summary>What `pdm model eval --name` evaluates; null columns come from the version's training parameters.</summary>
internal sealed record RegisteredEvaluation
{
    public required string Name { get; init; }

    /// <summary>Null: the production version.</summary>
    public int? Version { get; init; }

    /// <summary>Null: the version's training file, when it is still there unchanged.</summary>
    public string? Input { get; init; }

    public string? Label { get; init; }
    public string NormalLabel { get; init; } = "HEALTHY";
    public string? TimeColumn { get; init; }
    public string? UnitColumn { get; init; }
    public IReadOnlyList<string>? Ignore { get; init; }
    public bool Json { get; init; }
}

/// <summary>
/// `pdm model eval --name`: a registered version (its stored artifact, checked against its hash) on a labelled CSV.
/// Anomaly: the share of rows flagged, and with a label column the false-positive rate on normal rows and the share of
/// abnormal rows detected. Remaining life: RMSE and MAE against the true remaining life (capped as in training) on
/// every row, and RMSE on the rows below the cap (the wear-out phase). State: accuracy and recall per state.
/// </summary>
internal static class ModelEvaluation
{
    public static async Task<int> EvaluateAsync(ModelRegistry registry, RegisteredEvaluation request, CancellationToken cancellationToken)
    {
        ModelArtifact? artifact;
        try
        {
            artifact = request.Version is { } version
                ? await registry.GetAsync(request.Name, version, cancellationToken)
                : await registry.GetProductionAsync(request.Name, cancellationToken);
        }
        catch (ModelIntegrityException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return 1;
        }
        if (artifact is null)
        {
            await Console.Error.WriteLineAsync(await ModelRegistryCommands.UnknownAsync(registry, request.Name, request.Version, cancellationToken));
            return 1;
        }
        var metadata = artifact.Metadata;
        var input = request.Input;
        if (input is null)
        {
            input = await UnchangedTrainingFileAsync(metadata.Parameters, metadata.TrainingDataHash, cancellationToken);
            if (input is null)
            {
                await Console.Error.WriteLineAsync($"{metadata.Name} version {metadata.Version}: its training file is gone or changed; pass --input with a labelled CSV.");
                return 1;
            }
        }
        var parameters = metadata.Parameters;
        string? Column(string? given, string key, string? fallback) =>
            given ?? (parameters.TryGetValue(key, out var value) && value.Length > 0 ? value : fallback);
        var ignore = request.Ignore
            ?? (parameters.TryGetValue("ignore", out var ignored) ? ignored.Split(',', StringSplitOptions.RemoveEmptyEntries) : []);
        var training = request.Input is null ? " (its training data)" : "";
        Console.WriteLine($"Evaluating {metadata.Name} version {metadata.Version} ({metadata.Kind}, {ModelRegistryCommands.Stage(metadata.Stage)}) on {input}{training}");

        var metrics = metadata.Kind switch
        {
            ModelKinds.Anomaly => Anomaly(artifact.Content, input, Column(request.TimeColumn, "time_column", null), request.Label, request.NormalLabel, ignore),
            ModelKinds.Rul => Rul(artifact.Content, input, Column(request.UnitColumn, "unit_column", "unit")!, Column(request.TimeColumn, "time_column", "time"),
                Column(null, "rul_column", "rul")!, ignore),
            ModelKinds.State => State(artifact.Content, input, Column(request.UnitColumn, "unit_column", "unit")!, Column(request.TimeColumn, "time_column", "time"),
                Column(request.Label, "label_column", "state")!, ignore),
            _ => Unsupported(metadata.Kind),
        };
        if (metrics is null)
        {
            return 1;
        }
        foreach (var (key, value) in metrics)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {key,-20} {value:0.####}"));
        }
        if (request.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new EvalReport
            {
                Name = metadata.Name, Version = metadata.Version, Kind = metadata.Kind, Input = input, Metrics = metrics,
            }, CliJson.Options));
        }
        return 0;
    }

    private static async Task<string?> UnchangedTrainingFileAsync(IReadOnlyDictionary<string, string> parameters, string trainingDataHash,
        CancellationToken cancellationToken) =>
        parameters.TryGetValue("train_file", out var file) && File.Exists(file)
            && await ModelRegistry.HashTrainingDataAsync(file, cancellationToken) == trainingDataHash
            ? file
            : null;

    private static Dictionary<string, double>? Anomaly(ReadOnlyMemory<byte> artifact, string input, string? timeColumn, string? label, string normal,
        IReadOnlyList<string> ignore)
    {
        if (ModelKinds.ReadAnomaly(artifact, out var error) is not { } model)
        {
            Console.Error.WriteLine($"the registered artifact: {error}");
            return null;
        }
        if (!ModelCommand.TryOpen(input, out var reader))
        {
            return null;
        }
        using (reader)
        {
            var csv = SensorCsvReader.Open(reader, new CsvReadOptions { TimeColumn = timeColumn, LabelColumn = label, IgnoreColumns = [.. ignore] },
                out var headerError);
            if (csv is null)
            {
                ModelCommand.Fail(input, [headerError!.Message]);
                return null;
            }
            var source = model.FeatureNames.Select(name => csv.FeatureNames.ToList().IndexOf(name)).ToArray();
            if (source.Contains(-1))
            {
                var missing = model.FeatureNames.Where((_, i) => source[i] < 0).Select(m => $"'{m}'");
                ModelCommand.Fail(input, [$"row 1: the model needs column(s) {string.Join(", ", missing)}, which the file does not have"]);
                return null;
            }
            var scorer = model.CreateScorer();
            var row = new double[csv.FeatureNames.Count];
            var values = new double[source.Length];
            long rows = 0, anomalies = 0, normalRows = 0, falseAlarms = 0, detected = 0;
            while (true)
            {
                var status = csv.ReadRow(row, out var time, out _);
                if (status == CsvRowStatus.End)
                {
                    break;
                }
                if (status == CsvRowStatus.Error)
                {
                    ModelCommand.Fail(input, [csv.LastError!.Message]);
                    return null;
                }
                for (var i = 0; i < source.Length; i++)
                {
                    values[i] = row[source[i]];
                }
                var flagged = scorer.Score(values, time).IsAnomaly;
                rows++;
                anomalies += flagged ? 1 : 0;
                var isNormal = string.Equals(csv.LabelText, normal, StringComparison.Ordinal);
                normalRows += isNormal ? 1 : 0;
                falseAlarms += isNormal && flagged ? 1 : 0;
                detected += !isNormal && flagged ? 1 : 0;
            }
            var metrics = new Dictionary<string, double>
            {
                ["rows"] = rows,
                ["anomalies"] = anomalies,
                ["anomaly_share"] = Share(anomalies, rows),
                ["threshold"] = model.Threshold,
            };
            if (label is not null)
            {
                metrics["normal_rows"] = normalRows;
                metrics["false_positive_rate"] = Share(falseAlarms, normalRows);
                metrics["abnormal_rows"] = rows - normalRows;
                metrics["detection_rate"] = Share(detected, rows - normalRows);
            }
            return metrics;
        }
    }

    private static Dictionary<string, double>? Rul(ReadOnlyMemory<byte> artifact, string input, string unitColumn, string? timeColumn, string rulColumn,
        IReadOnlyList<string> ignore)
    {
        if (ModelKinds.ReadRul(artifact, out var unreadable) is not { } model)
        {
            Console.Error.WriteLine($"the registered artifact: {unreadable}");
            return null;
        }
        if (!ModelCommand.TryReadUnits(input, unitColumn, timeColumn, rulColumn, null, ignore, out var data, allowMissingTarget: true)
            || !ModelCommand.Matches(input, ref data, model.Features.InputNames))
        {
            return null;
        }
        double squares = 0, absolute = 0, wearSquares = 0;
        long rows = 0, wearRows = 0;
        for (var u = 0; u < data.Units.Count; u++)
        {
            var unit = data.Units[u];
            var predicted = model.Predict(unit);
            var targets = data.Targets?[u] ?? RulTargets.RemainingTime(unit);
            for (var r = 0; r < predicted.Length; r++)
            {
                var actual = Math.Min(targets[r], model.Cap);
                var error = predicted[r] - actual;
                squares += error * error;
                absolute += Math.Abs(error);
                rows++;
                if (actual < model.Cap)
                {
                    wearSquares += error * error;
                    wearRows++;
                }
            }
        }
        return new Dictionary<string, double>
        {
            ["units"] = data.Units.Count,
            ["rows"] = rows,
            ["rmse"] = Math.Sqrt(squares / Math.Max(1, rows)),
            ["mae"] = absolute / Math.Max(1, rows),
            ["rmse_below_cap"] = Math.Sqrt(wearSquares / Math.Max(1, wearRows)),
            ["cap"] = model.Cap,
        };
    }

    private static Dictionary<string, double>? State(ReadOnlyMemory<byte> artifact, string input, string unitColumn, string? timeColumn, string labelColumn,
        IReadOnlyList<string> ignore)
    {
        if (ModelKinds.ReadState(artifact, out var error) is not { } model)
        {
            Console.Error.WriteLine($"the registered artifact: {error}");
            return null;
        }
        if (!ModelCommand.TryReadUnits(input, unitColumn, timeColumn, null, labelColumn, ignore, out var data)
            || !ModelCommand.Matches(input, ref data, model.Features.InputNames))
        {
            return null;
        }
        var hits = new Dictionary<string, (long Right, long Rows)>(StringComparer.Ordinal);
        for (var u = 0; u < data.Units.Count; u++)
        {
            var (states, _) = model.Predict(data.Units[u]);
            for (var r = 0; r < states.Length; r++)
            {
                var truth = data.Labels![u][r];
                var (right, count) = hits.GetValueOrDefault(truth);
                hits[truth] = (right + (states[r] == truth ? 1 : 0), count + 1);
            }
        }
        var metrics = new Dictionary<string, double>
        {
            ["units"] = data.Units.Count,
            ["rows"] = hits.Values.Sum(h => h.Rows),
            ["accuracy"] = Share(hits.Values.Sum(h => h.Right), hits.Values.Sum(h => h.Rows)),
        };
        foreach (var (state, (right, count)) in hits.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            metrics[$"recall_{state.ToLowerInvariant()}"] = Share(right, count);
        }
        return metrics;
    }

    private static Dictionary<string, double>? Unsupported(string kind)
    {
        Console.Error.WriteLine($"Registered kind '{kind}' cannot be evaluated: only anomaly, rul and state models can.");
        return null;
    }

    private static double Share(long part, long total) => total == 0 ? 0 : (double)part / total;

    private sealed record EvalReport
    {
        public required string Name { get; init; }
        public required int Version { get; init; }
        public required string Kind { get; init; }
        public required string Input { get; init; }
        public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    }
}
