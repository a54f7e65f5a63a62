using System.CommandLine;
using System.Diagnostics;
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
        var fit = new Command("fit", "Train a model from a CSV file") { FitAnomaly(), FitRul(), FitState() };
        return new Command("model", "Train, apply and evaluate models on CSV data") { fit, Score(), Predict(), Eval() };
    }

    private static Option<string> Required(string name, string description) =>
        new(name) { Description = description, Required = true };

    private static Option<string?> TimeColumn() =>
        new("--time-column") { Description = "Name of the time column (default: the first column)" };

    private static Command FitAnomaly()
    {
        var train = Required("--train", "CSV of normal operation: a header, ',' or ';' separated, a time column and numeric features");
        var output = Required("--out", "Where to write the model");
        var time = TimeColumn();
        var fpr = new Option<double>("--target-fpr") { Description = "Share of normal samples allowed above the threshold", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random parts (isolation forest)", DefaultValueFactory = _ => 1 };
        var command = new Command("anomaly", "Anomaly ensemble (robust EWMA, isolation forest, PCA, temporal model, ISO 10816)")
        {
            train, output, time, fpr, seed,
        };
        command.SetAction(parse => FitAnomaly(parse.GetValue(train)!, parse.GetValue(output)!, parse.GetValue(time),
            parse.GetValue(fpr), parse.GetValue(seed)));
        return command;
    }

    private static int FitAnomaly(string trainFile, string outFile, string? timeColumn, double targetFpr, ulong seed)
    {
        if (!TryOpen(trainFile, out var reader))
        {
            return 1;
        }
        var clock = Stopwatch.StartNew();
        SensorTableResult table;
        using (reader)
        {
            table = SensorTable.Read(reader, new CsvReadOptions { TimeColumn = timeColumn });
        }
        if (table.Table is null)
        {
            return Fail(trainFile, table.Errors.Select(e => e.Message));
        }
        var fitted = AnomalyModel.Fit(table.Table, new AnomalyOptions { TargetFalsePositiveRate = targetFpr }, seed);
        foreach (var warning in fitted.Warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }
        if (fitted.Model is null)
        {
            return Fail(trainFile, fitted.Errors);
        }
        WriteAtomically(outFile, stream => fitted.Model.WriteTo(stream));
        Console.WriteLine($"Trained on {table.Table.RowCount:N0} rows × {table.Table.FeatureNames.Count} features in {clock.Elapsed.TotalSeconds:N1} s; "
            + $"model written to {outFile}");
        return 0;
    }

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

    private static Option<string> UnitColumn() =>
        new("--unit-column") { Description = "Name of the unit (machine, engine, run) column", DefaultValueFactory = _ => "unit" };

    private static Option<string?> UnitTimeColumn() =>
        new("--time-column") { Description = "Name of the time column (default: 'time')", DefaultValueFactory = _ => "time" };

    private static Option<string[]> IgnoreColumns() =>
        new("--ignore") { Description = "Columns to skip, comma separated (ground truth such as wear, notes)", AllowMultipleArgumentsPerToken = true, CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))] };

    private static Command FitRul()
    {
        var train = Required("--train", "CSV with columns unit,time,<features…> and optionally rul; without rul each unit's last row is its failure");
        var output = Required("--out", "Where to write the model");
        var unit = UnitColumn();
        var time = UnitTimeColumn();
        var rul = new Option<string>("--rul-column") { Description = "Remaining-life column, used when present", DefaultValueFactory = _ => "rul" };
        var cap = new Option<double>("--cap") { Description = "Remaining life is capped here for training (early life looks alike)", DefaultValueFactory = _ => 125 };
        var seed = new Option<int>("--seed") { Description = "Seed of folds and subsampling", DefaultValueFactory = _ => 1 };
        var ignore = IgnoreColumns();
        var command = new Command("rul", "Remaining-useful-life regressor (boosted trees over causal rolling features)")
        {
            train, output, unit, time, rul, cap, seed, ignore,
        };
        command.SetAction(parse => FitRul(parse.GetValue(train)!, parse.GetValue(output)!, parse.GetValue(unit)!, parse.GetValue(time),
            parse.GetValue(rul)!, parse.GetValue(cap), parse.GetValue(seed), parse.GetValue(ignore) ?? []));
        return command;
    }

    private static int FitRul(string trainFile, string outFile, string unitColumn, string? timeColumn, string rulColumn, double cap, int seed,
        string[] ignore)
    {
        if (!TryReadUnits(trainFile, unitColumn, timeColumn, rulColumn, null, ignore, out var data, allowMissingTarget: true))
        {
            return 1;
        }
        var clock = Stopwatch.StartNew();
        var options = new RulModelOptions { Cap = cap };
        if (data.Units.Count < options.Folds)
        {
            return Fail(trainFile, [$"{data.Units.Count} units: at least {options.Folds} run-to-failure units are needed"]);
        }
        var model = RulModel.Fit(data.Units, options, seed, data.FeatureNames, data.Targets);
        WriteAtomically(outFile, model.Write);
        Console.WriteLine($"Trained on {data.Units.Count} units, {data.Units.Sum(u => u.Length):N0} rows × {data.FeatureNames.Count} features "
            + $"in {clock.Elapsed.TotalSeconds:N1} s; out-of-fold RMSE {model.Validation.OutOfFoldRmse:N2} (capped at {cap}); model written to {outFile}");
        return 0;
    }

    private static Command FitState()
    {
        var train = Required("--train", "CSV with columns unit,time,<features…> and a label column");
        var label = new Option<string>("--label") { Description = "The label column", DefaultValueFactory = _ => "state" };
        var output = Required("--out", "Where to write the model");
        var unit = UnitColumn();
        var time = UnitTimeColumn();
        var seed = new Option<int>("--seed") { Description = "Seed of the validation split and subsampling", DefaultValueFactory = _ => 1 };
        var ignore = IgnoreColumns();
        var command = new Command("state", "Health-state classifier (boosted trees over causal rolling features)") { train, label, output, unit, time, seed, ignore };
        command.SetAction(parse => FitState(parse.GetValue(train)!, parse.GetValue(label)!, parse.GetValue(output)!, parse.GetValue(unit)!,
            parse.GetValue(time), parse.GetValue(seed), parse.GetValue(ignore) ?? []));
        return command;
    }

    private static int FitState(string trainFile, string labelColumn, string outFile, string unitColumn, string? timeColumn, int seed,
        string[] ignore)
    {
        if (!TryReadUnits(trainFile, unitColumn, timeColumn, null, labelColumn, ignore, out var data))
        {
            return 1;
        }
        var clock = Stopwatch.StartNew();
        StateModel model;
        try
        {
            model = StateModel.Fit(data.Units, data.Labels!, seed, data.FeatureNames);
        }
        catch (ArgumentException exception)
        {
            return Fail(trainFile, [exception.Message]);
        }
        WriteAtomically(outFile, model.Write);
        Console.WriteLine($"Trained on {data.Units.Count} units, {data.Units.Sum(u => u.Length):N0} rows, states {string.Join(", ", model.Classes)} "
            + $"in {clock.Elapsed.TotalSeconds:N1} s; model written to {outFile}");
        return 0;
    }

    private static Command Predict()
    {
        var model = Required("--model", "A model from `pdm model fit rul` or `pdm model fit state`");
        var input = Required("--input", "CSV with the unit and time columns and the model's features");
        var output = Required("--out", "Where to write unit,time,rul (or unit,time,state,probability)");
        var unit = UnitColumn();
        var time = UnitTimeColumn();
        var ignore = IgnoreColumns();
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
        var command = new Command("eval", "Remaining-life model on C-MAPSS FD001: RUL capped at 125, last cycle of each test unit; RMSE and NASA score")
        {
            data, seed, json,
        };
        command.SetAction(parse => Eval(parse.GetValue(data)!, parse.GetValue(seed), parse.GetValue(json)));
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
            Console.WriteLine(JsonSerializer.Serialize(report, BenchJson.Options));
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

    private static bool TryReadUnits(string path, string unitColumn, string? timeColumn, string? targetColumn, string? labelColumn,
        string[] ignore, out UnitCsvData data, bool allowMissingTarget = false)
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
    private static bool Matches(string path, ref UnitCsvData data, IReadOnlyList<string> modelColumns)
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

    private static bool TryOpen(string path, out StreamReader reader)
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

    private static int Fail(string file, IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"{file}: {problem}");
        }
        return 1;
    }

    /// <summary>Writes to a temporary file beside the target and renames it only when <paramref name="write"/> completes.</summary>
    private static void WriteAtomically(string path, Action<Stream> write)
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
