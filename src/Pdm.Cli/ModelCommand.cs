using System.CommandLine;
using System.Diagnostics;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;

namespace Pdm.Cli;

/// <summary>
/// `pdm model …`: train and apply models on any CSV data set. Inputs are checked row by row and the first problem is
/// reported with its row and column; outputs are written to a temporary file and kept only when complete.
/// </summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var fit = new Command("fit", "Train a model from a CSV file") { FitAnomaly() };
        return new Command("model", "Train, apply and evaluate models on CSV data") { fit, Score() };
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
