using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pdm.DevHost;
using Pdm.DevHost.Events;
using Pdm.LocalStack;
using Pdm.Simulator;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Cli;

/// <summary>`pdm bench …`: measured throughput, each against its ceiling in the same run.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks (human summary; with --json one JSON object as the last line)")
    {
        CreateIngest(),
        EdgeBench.Create(),
        AnalyticsBench.CreateScore(),
        AnalyticsBench.CreateTrain(),
    };

    private static Command CreateIngest()
    {
        var messages = new Option<int>("--messages") { Description = "Gateway messages to ingest", DefaultValueFactory = _ => 12_000 };
        var machines = new Option<int>("--machines-per-message") { Description = "Machine samples per message", DefaultValueFactory = _ => 10 };
        var sensors = new Option<int>("--sensors") { Description = "Sensors per machine sample", DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch") { Description = "Events per Ingest invocation (host.json maxEventBatchSize)", DefaultValueFactory = _ => 100 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions invoking Ingest concurrently", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("ingest", "Sensor values per second through the real Ingest endpoint, against raw binary COPY")
        {
            messages, machines, sensors, batch, partitions, json,
        };
        command.SetAction((parse, cancellationToken) => IngestAsync(new IngestBenchSettings(
            parse.GetValue(messages), parse.GetValue(machines), parse.GetValue(sensors), parse.GetValue(batch), parse.GetValue(partitions)),
            parse.GetValue(json), cancellationToken));
        return command;
    }

    private sealed record IngestBenchSettings(int Messages, int MachinesPerMessage, int Sensors, int BatchSize, int Partitions)
    {
        public long Values => (long)Messages * MachinesPerMessage * Sensors;
    }

    private static async Task<int> IngestAsync(IngestBenchSettings settings, bool json, CancellationToken cancellationToken)
    {
        var state = Path.Combine(CliPaths.RepoRoot, ".pdm", $"bench-{Environment.ProcessId}");
        var logFile = Path.Combine(state, "bench.log");
        using var logs = new FileLoggerProvider(logFile);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        try
        {
            await using var stack = await LocalServers.StartAsync(state, CliPaths.RepoRoot, cancellationToken);
            var database = await stack.PrepareDatabaseAsync("pdm_bench", cancellationToken);
            await using var db = PdmDatabase.Create(database.AppConnectionString, loggerFactory);
            // COPY FROM is refused on tables under row-level security, so the raw ceiling runs as the superuser.
            await using var superuser = PdmDatabase.Create(new Npgsql.NpgsqlConnectionStringBuilder(stack.Endpoints.PostgresSuperuserConnectionString)
            {
                Database = database.Name,
            }.ConnectionString, loggerFactory);
            var ingestTenant = await db.CreateTenantAsync("bench-ingest", cancellationToken);
            var copyTenant = await db.CreateTenantAsync("bench-copy", cancellationToken);
            var devices = Enumerable.Range(0, settings.Partitions).Select(p => $"bench-gw-{p}").ToArray();
            foreach (var device in devices)
            {
                await db.RegisterDeviceAsync(ingestTenant.Id, device, cancellationToken);
            }

            await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
            {
                FunctionAppDirectory = CliPaths.FunctionApp,
                Environment = LocalEnvironment.FunctionAppSettings(stack.Endpoints, database),
            }, loggerFactory, cancellationToken);

            Console.WriteLine($"Generating {settings.Messages:N0} messages ({settings.MachinesPerMessage} machines × {settings.Sensors} sensors each, {settings.Values:N0} values)...");
            var start = DateTimeOffset.UtcNow.AddSeconds(-settings.Messages - 60);
            var samples = BatchFactory.CreateSampleBatches(settings.Messages, settings.MachinesPerMessage, settings.Sensors, start, seed: 1);
            var bodies = BatchFactory.CreateMessages(settings.Messages, settings.MachinesPerMessage, settings.Sensors, start, seed: 1);

            // Warm-up: JIT, connection pools and partitions, on a separate machine id range (not counted).
            var warmup = BatchFactory.CreateMessages(settings.BatchSize, 1, settings.Sensors, start.AddDays(-1), seed: 2);
            await InvokeAsync(host, "0", devices[0], warmup, cancellationToken);

            Console.WriteLine($"Ingest: {settings.Partitions} partitions, {settings.BatchSize} events per invocation, through the handler over HTTP...");
            var ingestTime = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, settings.Partitions).Select(p => Task.Run(async () =>
            {
                for (var i = p * settings.BatchSize; i < bodies.Count; i += settings.Partitions * settings.BatchSize)
                {
                    var slice = bodies.Skip(i).Take(settings.BatchSize).ToList();
                    await InvokeAsync(host, p.ToString(CultureInfo.InvariantCulture), devices[p], slice, cancellationToken);
                }
            }, cancellationToken)));
            ingestTime.Stop();
            var stored = await db.CountReadingsAsync(ingestTenant.Id, cancellationToken) - (long)settings.BatchSize * settings.Sensors;
            if (stored != settings.Values)
            {
                throw new InvalidOperationException($"Ingest stored {stored:N0} values, expected {settings.Values:N0}: the measurement is not valid.");
            }

            Console.WriteLine($"Ceiling: raw binary COPY of the same rows into the same table, {settings.Partitions} connections...");
            var copyTime = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, settings.Partitions).Select(p => Task.Run(async () =>
            {
                for (var i = p * settings.BatchSize; i < samples.Count; i += settings.Partitions * settings.BatchSize)
                {
                    List<MachineSample> rows = [.. samples.Skip(i).Take(settings.BatchSize).SelectMany(s => s)];
                    await superuser.CopyRawAsync(copyTenant.Id, rows, cancellationToken);
                }
            }, cancellationToken)));
            copyTime.Stop();

            var result = new IngestBenchResult
            {
                Values = settings.Values,
                Messages = settings.Messages,
                BatchSize = settings.BatchSize,
                Partitions = settings.Partitions,
                IngestSeconds = Math.Round(ingestTime.Elapsed.TotalSeconds, 3),
                CopySeconds = Math.Round(copyTime.Elapsed.TotalSeconds, 3),
                ValuesPerS = Math.Round(settings.Values / ingestTime.Elapsed.TotalSeconds),
                CopyValuesPerS = Math.Round(settings.Values / copyTime.Elapsed.TotalSeconds),
                HandlerPeakRssMb = host.HandlerPeakRssMb,
            };
            Console.WriteLine($"""

                Ingest end to end : {result.ValuesPerS,12:N0} values/s  ({settings.Values:N0} values in {result.IngestSeconds:N2} s)
                Raw COPY ceiling  : {result.CopyValuesPerS,12:N0} values/s  ({result.CopySeconds:N2} s)
                Ratio             : {result.Ratio:P0} of COPY (target ≥ 50%); target ≥ 100,000 values/s
                Handler peak RSS  : {result.HandlerPeakRssMb:N0} MB
                """);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Options));
            }
            return 0;
        }
        finally
        {
            TryDelete(state);
        }
    }

    private static async Task InvokeAsync(FunctionsDevHost host, string partition, string device, IReadOnlyList<byte[]> bodies, CancellationToken cancellationToken)
    {
        var events = bodies.Select(b => new DeviceEvent { DeviceId = device, Body = b }).ToList();
        var outcome = await host.InvokeEventHubAsync("Ingest", partition, events, cancellationToken);
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"Ingest invocation failed: {outcome.Error}");
        }
    }

    internal static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal sealed record IngestBenchResult
{
    public long Values { get; init; }
    public int Messages { get; init; }
    public int BatchSize { get; init; }
    public int Partitions { get; init; }
    public double IngestSeconds { get; init; }
    public double CopySeconds { get; init; }
    public double ValuesPerS { get; init; }
    public double CopyValuesPerS { get; init; }
    public double Ratio => Math.Round(ValuesPerS / CopyValuesPerS, 3);
    public double HandlerPeakRssMb { get; init; }
}

internal static class BenchJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
