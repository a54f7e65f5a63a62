using System.CommandLine;
using System.Globalization;
using Pdm.Simulator;
using Pdm.Simulator.Twin;

namespace Pdm.Cli;

/// <summary>`pdm simulate --export run.csv`: labelled run-to-failure data from the digital twin, for training.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var export = new Option<string?>("--export") { Description = "CSV file to write: unit,time,<sensors>,wear,state[,chaos],rul" };
        var machines = new Option<int>("--machines") { Description = "Machines to run from new to failure", DefaultValueFactory = _ => 20 };
        var kind = new Option<string>("--kind")
        {
            Description = $"Machine kind(s), comma-separated, or 'all': {string.Join(", ", Enum.GetNames<MachineKind>())}",
            DefaultValueFactory = _ => nameof(MachineKind.CentrifugalPump),
        };
        var mode = new Option<string>("--mode")
        {
            Description = "nominal (~27 h to failure), accelerated (~20 min) or stress (~2.5 min)",
            DefaultValueFactory = _ => "accelerated",
        };
        var interval = new Option<double>("--interval") { Description = "Seconds between samples", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Master seed: the same options write the same file", DefaultValueFactory = _ => 1 };
        var chaos = new Option<double>("--chaos")
        {
            Description = "Chance per sample that each kind of sensor fault (glitch, heat wave, stuck, dropped) starts; 0 = none",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("simulate", "Digital twin: run machines to failure and export labelled data")
        {
            export, machines, kind, mode, interval, seed, chaos,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(export);
            if (string.IsNullOrWhiteSpace(file))
            {
                await Console.Error.WriteLineAsync("Nothing to do: pass --export <file.csv> to write run-to-failure data.");
                return 2;
            }
            var options = ParseOptions(parse.GetValue(machines), parse.GetValue(kind)!, parse.GetValue(mode)!,
                parse.GetValue(interval), parse.GetValue(seed), parse.GetValue(chaos), out var error);
            if (options is null)
            {
                await Console.Error.WriteLineAsync(error);
                return 2;
            }
            return await ExportAsync(Path.GetFullPath(file), options, cancellationToken);
        });
        return command;
    }

    private static RunToFailureOptions? ParseOptions(
        int machines, string kinds, string mode, double intervalSeconds, int seed, double chaos, out string error)
    {
        error = "";
        var parsedKinds = new List<MachineKind>();
        foreach (var name in kinds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (name.Equals("all", StringComparison.OrdinalIgnoreCase))
            {
                parsedKinds.AddRange(Enum.GetValues<MachineKind>());
            }
            else if (TryParseName<MachineKind>(name, out var machineKind))
            {
                parsedKinds.Add(machineKind);
            }
            else
            {
                error = $"--kind: '{name}' is not a machine kind; use one of {string.Join(", ", Enum.GetNames<MachineKind>())} or 'all'.";
                return null;
            }
        }
        if (!TryParseName<TwinMode>(mode, out var twinMode))
        {
            error = $"--mode: '{mode}' is not a mode; use nominal, accelerated or stress.";
            return null;
        }
        if (!double.IsFinite(intervalSeconds) || intervalSeconds <= 0)
        {
            error = $"--interval: {intervalSeconds.ToString(CultureInfo.InvariantCulture)} s is not a sample interval; use a number of seconds above 0.";
            return null;
        }
        if (!(chaos is >= 0 and <= 1))
        {
            error = $"--chaos: {chaos.ToString(CultureInfo.InvariantCulture)} is not a chance per sample; use a number from 0 to 1.";
            return null;
        }
        var options = new RunToFailureOptions
        {
            Machines = machines,
            Kinds = [.. parsedKinds.Distinct()],
            Twin = new TwinOptions { Mode = twinMode },
            Interval = TimeSpan.FromSeconds(intervalSeconds),
            Seed = seed,
            Chaos = chaos > 0 ? ChaosOptions.Uniform(chaos) : null,
        };
        var problem = options.Validate();
        if (problem is not null)
        {
            error = $"Invalid options: {problem}.";
            return null;
        }
        return options;
    }

    // Names only: Enum.TryParse would also take "7" and give an undefined value.
    private static bool TryParseName<T>(string text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !char.IsAsciiDigit(text.TrimStart('-')[0]);

    private static async Task<int> ExportAsync(string file, RunToFailureOptions options, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(file)!;
        if (!Directory.Exists(directory))
        {
            await Console.Error.WriteLineAsync($"--export: the folder {directory} does not exist.");
            return 2;
        }
        var mean = options.Twin.EffectiveMeanTimeToFailure;
        var expectedRows = options.Machines * (mean / options.Interval);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Running {options.Machines} machine(s) ({string.Join(", ", options.Kinds)}) to failure in {options.Twin.Mode} mode " +
            $"(mean life {mean}), a sample every {options.Interval.TotalSeconds} s, seed {options.Seed}: about {expectedRows:N0} rows."));
        // Written beside the target and moved into place at the end, so a failed or cancelled run leaves no half file.
        var partial = file + ".partial";
        try
        {
            RunToFailureSummary summary;
            await using (var writer = new StreamWriter(partial, append: false))
            {
                summary = await RunToFailureExporter.ExportAsync(writer, options, new ProgressLine(), cancellationToken);
            }
            File.Move(partial, file, overwrite: true);
            if (!Console.IsOutputRedirected)
            {
                Console.WriteLine();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {summary.RowsWritten:N0} rows of {summary.MachinesFailed} machines to {file}. " +
                $"Lives: shortest {Whole(summary.ShortestLife)}, mean {Whole(summary.MeanLife)}, longest {Whole(summary.LongestLife)}."));
            Console.WriteLine($"Columns: {string.Join(',', summary.Columns)}");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(partial);
            await Console.Error.WriteLineAsync($"Cannot write {file}: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            File.Delete(partial);
            await Console.Error.WriteLineAsync("Cancelled; no file written.");
            return 130;
        }
    }

    private static TimeSpan Whole(TimeSpan time) => TimeSpan.FromSeconds(Math.Round(time.TotalSeconds));

    /// <summary>Rewrites one console line with the rows written and machines failed so far (only on a terminal).</summary>
    private sealed class ProgressLine : IProgress<RunToFailureProgress>
    {
        public void Report(RunToFailureProgress value)
        {
            if (!Console.IsOutputRedirected)
            {
                Console.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r{value.RowsWritten,12:N0} rows written, {value.MachinesFailed}/{value.Machines} machines failed"));
            }
        }
    }
}
