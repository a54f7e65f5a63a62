using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Analytics.Datasets;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;

namespace Pdm.Cli;

/// <summary>
/// `pdm model …`: train and apply models on any CSV data set. Inputs are checked row by row and the first problem is
/// reported with its row and column; outputs are written to a temporary file and kept only when complete.
/// </summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var fit = new Command("fit", "Train a model from a CSV file and write it to a file");
        var train = new Command("train", "Train a model from a CSV file and register it in the model registry");
        foreach (var create in ModelFitOptions.All)
        {
            fit.Subcommands.Add(Fit(create()));
            train.Subcommands.Add(ModelRegistryCommands.Train(create()));
        }
        return new Command("model", "Train, apply, evaluate and register models on CSV data")
        {
            fit, train, Score(), Predict(), Eval(), ModelRegistryCommands.Promote(), ModelRegistryCommands.List(),
        };
    }

    private static Command Fit(ModelFitOptions options)
    {
        var output = Required("--out", "Where to write the model");
        var command = options.CreateCommand(output);
        command.SetAction(parse =>
        {
            var outFile = parse.GetValue(output)!;
            if (ModelFitting.Fit(options.Read(parse)) is not { } fitted)
            {
                return 1;
            }
            WriteAtomically(outFile, stream => stream.Write(fitted.Artifact));
            Console.WriteLine($"{fitted.Summary}; model written to {outFile}");
            return 0;
        });
        return command;
    }

    private static Option<string> Required(string name, string description) =>
        new(name) { Description = description, Required = true };

    private static Option<string?> TimeColumn() =>
        new("--time-column") { Description = "Name of the time column (default: the first column)" };

    private static Command Score()
    {
        var model = Required("--model", "A model from `pdm model fit anomaly`");
        var input = Required("--input", "CSV to score, with the model's feature columns");
        var output = Required("--out", "Where to write time,score,anomaly,top_sensor");
        var time = TimeColumn();
        var command = new Command("score", "Score every row of a CSV causally with an anomaly model") { model, input, output, time };
        command.SetAction(parse => Score(parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(time)));
        return command;
    }

    private static int Score(string modelFile, string inputFile, string outFile, string? timeColumn)
    {
        if (!File.Exists(modelFile))
        {
            return Fail(modelFile, ["file not found"]);
        }
        var read = AnomalyModel.Read(File.ReadAllBytes(modelFile));
        if (read.Model is null)
        {
            return Fail(modelFile, [read.Error ?? "not an anomaly model"]);
        }
        if (!TryOpen(inputFile, out var reader))
        {
            return 1;
        }
        AnomalyCsvResult result = null!;
        using (reader)
        {
            WriteAtomically(outFile, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                result = AnomalyCsv.Score(reader, writer, read.Model, new CsvReadOptions { TimeColumn = timeColumn });
                if (result.Error is not null)
                {
                    throw new InvalidDataException(result.Error.Message);
                }
            });
        }
        Console.WriteLine($"Scored {result.Rows:N0} rows, {result.Anomalies:N0} anomalous; written to {outFile}");
        return 0;
    }

    private static Command Predict()
    {
        var model = Required("--model", "A model from `pdm model fit rul` or `pdm model fit state`");
        var input = Required("--input", "CSV with the unit and time columns and the model's features");
        var output = Required("--out", "Where to write unit,time,rul (or unit,time,state,probability)");
        var unit = ModelFitOptions.UnitColumn();
        var time = ModelFitOptions.UnitTimeColumn();
        var ignore = ModelFitOptions.IgnoreColumns();
        var command = new Command("predict", "Predict remaining life or health state for every row, causally per unit") { model, input, output, unit, time, ignore };
        command.SetAction(parse => Predict(parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(unit)!, parse.GetValue(time),
            parse.GetValue(ignore) ?? []));
        return command;
    }

    private static int Predict(string modelFile, string inputFile, string outFile, string unitColumn, string? timeColumn, string[] ignore)
    {
        if (!File.Exists(modelFile))
        {
            return Fail(modelFile, ["file not found"]);
        }
        var bytes = File.ReadAllBytes(modelFile);
        try
        {
            if (StateModel.IsStateModel(bytes))
            {
                var state = StateModel.Read(new MemoryStream(bytes));
                if (!TryReadUnits(inputFile, unitColumn, timeColumn, null, null, ignore, out var data) || !Matches(inputFile, ref data, state.Features.InputNames))
                {
                    return 1;
                }
                WriteAtomically(outFile, stream =>
                {
                    using var writer = new StreamWriter(stream, leaveOpen: true);
                    writer.WriteLine("unit,time,state,probability");
                    for (var u = 0; u < data.Units.Count; u++)
                    {
                        var (states, probabilities) = state.Predict(data.Units[u]);
                        for (var r = 0; r < states.Length; r++)
                        {
                            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{data.Units[u].Unit},{data.TimeTexts[u][r]},{states[r]},{probabilities[r]:0.####}"));
                        }
                    }
                });
                Console.WriteLine($"Predicted the state of {data.Units.Sum(u => u.Length):N0} rows of {data.Units.Count} units; written to {outFile}");
                return 0;
            }
            var rul = RulModel.Read(new MemoryStream(bytes));
            if (!TryReadUnits(inputFile, unitColumn, timeColumn, null, null, ignore, out var units) || !Matches(inputFile, ref units, rul.Features.InputNames))
            {
                return 1;
            }
            WriteAtomically(outFile, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                writer.WriteLine("unit,time,rul");
                for (var u = 0; u < units.Units.Count; u++)
                {
                    var predicted = rul.Predict(units.Units[u]);
                    for (var r = 0; r < predicted.Length; r++)
                    {
                        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{units.Units[u].Unit},{units.TimeTexts[u][r]},{predicted[r]:0.###}"));
                    }
                }
            });
            Console.WriteLine($"Predicted remaining life for {units.Units.Sum(u => u.Length):N0} rows of {units.Units.Count} units; written to {outFile}");
            return 0;
        }
        catch (InvalidDataException exception)
        {
            return Fail(modelFile, [exception.Message]);
        }
    }

    private static Command Eval()
    {
        var data = new Option<string>("--data") { Description = "Folder with NASA C-MAPSS train_FD001.txt, test_FD001.txt, RUL_FD001.txt", DefaultValueFactory = _ => DefaultCmapss };
        var seed = new Option<int>("--seed") { Description = "Seed of folds and subsampling", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var name = new Option<string?>("--name") { Description = "Evaluate this registered model instead (on --input, default: its training file)" };
        var version = new Option<int?>("--version") { Description = "Version of --name (default: the production version)" };
        var input = new Option<string?>("--input") { Description = "Labelled CSV for --name, with the model's feature columns" };
        var label = new Option<string?>("--label") { Description = "Label column of --input (state models: default as trained; anomaly models: optional)" };
        var normal = new Option<string>("--normal") { Description = "Label of normal rows, for anomaly models", DefaultValueFactory = _ => "HEALTHY" };
        var unit = new Option<string?>("--unit-column") { Description = "Unit column of --input (default: as trained)" };
        var time = new Option<string?>("--time-column") { Description = "Time column of --input (default: as trained)" };
        var ignore = ModelFitOptions.IgnoreColumns();
        var database = ModelRegistryAccess.DatabaseOption();
        var storage = ModelRegistryAccess.StorageOption();
        var command = new Command("eval", "Remaining-life model on C-MAPSS FD001 (RUL capped at 125, last cycle of each test unit; RMSE and NASA score), "
            + "or a registered model (--name) on a labelled CSV")
        {
            data, seed, json, name, version, input, label, normal, unit, time, ignore, database, storage,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(name) is not { } modelName)
            {
                return Eval(parse.GetValue(data)!, parse.GetValue(seed), parse.GetValue(json));
            }
            var request = new RegisteredEvaluation
            {
                Name = modelName,
                Version = parse.GetValue(version),
                Input = parse.GetValue(input),
                Label = parse.GetValue(label),
                NormalLabel = parse.GetValue(normal)!,
                UnitColumn = parse.GetValue(unit),
                TimeColumn = parse.GetValue(time),
                Ignore = parse.GetResult(ignore) is null ? null : parse.GetValue(ignore),
                Json = parse.GetValue(json),
            };
            return await ModelRegistryAccess.RunAsync(parse.GetValue(database), parse.GetValue(storage),
                registry => ModelEvaluation.EvaluateAsync(registry, request, cancellationToken), cancellationToken);
        });
        return command;
    }

    public static string DefaultCmapss => Path.GetFullPath(Path.Combine(CliPaths.RepoRoot, "..", "shared", "datasets", "cmapss"));

    private static int Eval(string directory, int seed, bool json)
    {
        Console.WriteLine($"Training on FD001 (100 run-to-failure engines) from {directory}...");
        var result = CmapssBenchmark.EvaluateFd001(directory, seed: seed);
        if (result.Evaluation is null || result.Model is null)
        {
            return Fail(directory, result.Errors);
        }
        var report = new EvalResult
        {
            Dataset = "FD001",
            Rmse = Math.Round(result.Evaluation.Rmse, 3),
            NasaScore = Math.Round(result.Evaluation.NasaScore, 1),
            TrainingSeconds = Math.Round(result.TrainingTime.TotalSeconds, 1),
            OutOfFoldRmse = Math.Round(result.Model.Validation.OutOfFoldRmse, 3),
            Seed = seed,
        };
        Console.WriteLine($"""

            FD001 test, last cycle of each of the 100 engines:
              RMSE        {report.Rmse:N2} cycles (target ≤ 13)
              NASA score  {report.NasaScore:N1} (lower is better; late predictions cost more)
              training    {report.TrainingSeconds:N1} s; out-of-fold RMSE on held-out training engines {report.OutOfFoldRmse:N2}
            """);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Options));
        }
        return 0;
    }

    private sealed record EvalResult
    {
        public required string Dataset { get; init; }
        public double Rmse { get; init; }
        public double NasaScore { get; init; }
        public double TrainingSeconds { get; init; }
        public double OutOfFoldRmse { get; init; }
        public int Seed { get; init; }
    }

    internal static bool TryReadUnits(string path, string unitColumn, string? timeColumn, string? targetColumn, string? labelColumn,
        IReadOnlyList<string> ignore, out UnitCsvData data, bool allowMissingTarget = false)
    {
        data = null!;
        if (!TryOpen(path, out var reader))
        {
            return false;
        }
        UnitCsvResult result;
        using (reader)
        {
            result = UnitCsv.Read(reader, unitColumn, timeColumn, targetColumn, labelColumn, ignore);
        }
        if (result.Data is null && allowMissingTarget && targetColumn is not null && result.Errors is [{ Column: var column, Row: 1 }] && column == targetColumn)
        {
            // No remaining-life column: every unit ran until its last row.
            return TryReadUnits(path, unitColumn, timeColumn, null, labelColumn, ignore, out data);
        }
        if (result.Data is null)
        {
            Fail(path, result.Errors.Select(e => e.Message));
            return false;
        }
        data = result.Data;
        return true;
    }

    /// <summary>
    /// The input's units with exactly the model's columns, in the model's order (the file may order them differently
    /// and have more); false, with the missing columns named, when it lacks one.
    /// </summary>
    internal static bool Matches(string path, ref UnitCsvData data, IReadOnlyList<string> modelColumns)
    {
        var columns = data.FeatureNames;
        var missing = modelColumns.Except(columns, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            Fail(path, [$"row 1: the model needs column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}, which the file does not have"]);
            return false;
        }
        var source = modelColumns.Select(name => columns.ToList().IndexOf(name)).ToArray();
        var units = data.Units.Select(unit =>
        {
            var values = new Pdm.Analytics.Trees.FeatureMatrix(unit.Length, source.Length);
            for (var r = 0; r < unit.Length; r++)
            {
                var row = unit.Values.Row(r);
                for (var c = 0; c < source.Length; c++)
                {
                    values[r, c] = row[source[c]];
                }
            }
            return new UnitSeries(unit.Unit, unit.Time.ToArray(), values);
        }).ToList();
        data = data with { FeatureNames = modelColumns, Units = units };
        return true;
    }

    internal static bool TryOpen(string path, out StreamReader reader)
    {
        reader = null!;
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"{path}: file not found");
            return false;
        }
        reader = new StreamReader(path);
        return true;
    }

    internal static int Fail(string file, IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"{file}: {problem}");
        }
        return 1;
    }

    /// <summary>Writes to a temporary file beside the target and renames it only when <paramref name="write"/> completes.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        var temporary = path + ".partial";
        try
        {
            using (var stream = File.Create(temporary))
            {
                write(stream);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
