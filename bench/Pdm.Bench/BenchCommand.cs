using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pdm.Analytics.Anomaly;
using Pdm.DevHost;
using Pdm.DevHost.Events;
using Pdm.LocalStack;
using Pdm.Simulator;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Bench;

/// <summary>`pdm bench …` (./pdm runs this program for it): measured throughput, each against its ceiling in the same run.</summary>
internal static class BenchCommand
{
    public static RootCommand Create() => new("Benchmarks (human summary; with --json one JSON object as the last line)")
    {
        CreateIngest(),
        EdgeBench.Create(),
        AnalyticsBench.CreateScore(),
        AnalyticsBench.CreateTrain(),
        AnalyticsBench.CreateHeldout(),
        AlertsBench.Create(),
        ApiBench.Create(),
    };

    /// <summary>Ingest invocations per partition before the clock starts.</summary>
    private const int WarmupInvocations = 60;

    private static Command CreateIngest()
    {
        var messages = new Option<int>("--messages") { Description = "Gateway messages to ingest", DefaultValueFactory = _ => 12_000 };
        var machines = new Option<int>("--machines-per-message") { Description = "Machine samples per message", DefaultValueFactory = _ => 10 };
        var sensors = new Option<int>("--sensors") { Description = "Sensors per machine sample", DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch") { Description = "Events per Ingest invocation (host.json maxEventBatchSize)", DefaultValueFactory = _ => 100 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions invoking Ingest concurrently", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds")
        {
            Description = "Rounds alternating an ingest slice with the ceiling's COPY of the same slice, so both see the same machine",
            DefaultValueFactory = _ => 4,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("ingest", "Sensor values per second through the real Ingest endpoint, against raw binary COPY")
        {
            messages, machines, sensors, batch, partitions, rounds, json,
        };
        command.SetAction((parse, cancellationToken) => IngestAsync(new IngestBenchSettings(
            parse.GetValue(messages), parse.GetValue(machines), parse.GetValue(sensors), parse.GetValue(batch), parse.GetValue(partitions),
            parse.GetValue(rounds)),
            parse.GetValue(json), cancellationToken));
        return command;
    }

    private sealed record IngestBenchSettings(int Messages, int MachinesPerMessage, int Sensors, int BatchSize, int Partitions, int Rounds)
    {
        public long Samples => (long)Messages * MachinesPerMessage;

        public long Values => Samples * Sensors;
    }

    private static async Task<int> IngestAsync(IngestBenchSettings settings, bool json, CancellationToken cancellationToken)
    {
        if (settings.Partitions < 1 || settings.Messages % settings.Partitions != 0)
        {
            await Console.Error.WriteLineAsync($"--messages ({settings.Messages}) must be a multiple of --partitions ({settings.Partitions}): each partition is one gateway with its own machines.");
            return 2;
        }
        if (settings.Rounds < 1 || settings.Messages / settings.Partitions % (settings.BatchSize * settings.Rounds) != 0)
        {
            await Console.Error.WriteLineAsync($"Each partition's {settings.Messages / settings.Partitions} messages must split into --rounds ({settings.Rounds}) of whole invocations of --batch ({settings.BatchSize}) events.");
            return 2;
        }
        var state = Path.Combine(BenchPaths.RepoRoot, ".pdm", $"bench-{Environment.ProcessId}");
        var logFile = Path.Combine(state, "bench.log");
        using var logs = new FileLoggerProvider(logFile);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        try
        {
            await using var stack = await LocalServers.StartAsync(state, BenchPaths.RepoRoot, cancellationToken);
            var database = await stack.PrepareDatabaseAsync("pdm_bench", cancellationToken);
            await using var db = PdmStores.Create(database.AppConnectionString, loggerFactory);
            // COPY FROM is refused on tables under row-level security, so the raw ceiling runs as the superuser.
            var superuserConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(stack.Endpoints.PostgresSuperuserConnectionString)
            {
                Database = database.Name,
            }.ConnectionString;
            await using var superuser = PdmStores.Create(superuserConnectionString, loggerFactory);
            var ingestTenant = await db.Tenants.CreateTenantAsync("bench-ingest", cancellationToken);
            var copyTenant = await db.Tenants.CreateTenantAsync("bench-copy", cancellationToken);
            var devices = Enumerable.Range(0, settings.Partitions).Select(p => $"bench-gw-{p}").ToArray();
            foreach (var device in devices)
            {
                await db.Devices.RegisterDeviceAsync(ingestTenant.Id, device, cancellationToken);
            }

            await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
            {
                FunctionAppDirectory = BenchPaths.FunctionApp,
                // The bench's machines learn their own anomaly model from their first samples (not their first day),
                // so the measured run scores every sample with the full ensemble.
                // The timers run when the bench says: the Rollup timer (every 15 s locally) landed inside the measured
                // window at random, once taking 3.8 s of PostgreSQL in an 8.5 s run. Its work is measured on its own below.
                Environment = new Dictionary<string, string>(BenchEnvironment.TimersOff(LocalEnvironment.FunctionAppSettings(stack.Endpoints, database)))
                {
                    ["Pdm__AnomalyWarmupSpan"] = "00:00:00",
                },
            }, loggerFactory, cancellationToken);

            Console.WriteLine($"Generating {settings.Messages:N0} messages ({settings.Partitions} gateways × {settings.MachinesPerMessage} machines × {settings.Sensors} sensors each, {settings.Values:N0} values)...");
            var start = DateTimeOffset.UtcNow.AddSeconds(-settings.Messages - 60);
            // One gateway (device, hence partition) per slice of the plant, each with its own machines, as in a plant:
            // a machine's samples reach the cloud in order through one partition.
            var samples = Enumerable.Range(0, settings.Partitions).Select(p => BatchFactory.CreateSampleBatches(
                settings.Messages / settings.Partitions, settings.MachinesPerMessage, settings.Sensors, start, seed: 1 + p,
                machinePrefix: $"BENCH_G{p}_M")).ToArray();

            // Warm-up, not counted: JIT, connection pools and partitions, and every machine's anomaly warm-up (its first
            // samples, after which it fits its own model once), so the run measures steady-state ingest and scoring.
            // Also long enough for the handler's tiered JIT to settle: with only the anomaly warm-up (7 invocations per
            // partition) it was still compiling about 1,000 methods a second through the measured run.
            var warmupSamples = Math.Max(MachineAnomalyTracker.DefaultWarmupSamples + settings.BatchSize, WarmupInvocations * settings.BatchSize);
            Console.WriteLine($"Warm-up: {warmupSamples} samples per machine, {warmupSamples / settings.BatchSize} invocations per partition (each machine fits its anomaly model once; the JIT's tiers settle)...");
            var warmup = Enumerable.Range(0, settings.Partitions).Select(p => BatchFactory.CreateSampleBatches(
                warmupSamples, settings.MachinesPerMessage, settings.Sensors, start.AddDays(-1), seed: 100 + p,
                machinePrefix: $"BENCH_G{p}_M")).ToArray();
            await SendAsync(host, devices, Encode(warmup), settings.BatchSize, cancellationToken);
            var warmupRows = (long)settings.Partitions * warmupSamples * settings.MachinesPerMessage;
            await RollUpPendingAsync(db, cancellationToken);

            // Ingest stores one anomaly score per sample besides its values, so the ceiling copies both.
            Func<List<MachineSample>, Task<long>> copyReadings = rows => superuser.Readings.CopyRawAsync(copyTenant.Id, rows, cancellationToken);
            Func<List<MachineSample>, Task<long>> copyScores =
                rows => superuser.Scores.CopyRawScoresAsync(copyTenant.Id, [.. rows.Select(CeilingScore)], cancellationToken);
            // Warmed up like ingest (the same samples, untimed), so neither side's time includes the JIT's.
            await CopyCeilingAsync(settings, warmup, copyReadings, cancellationToken);
            await CopyCeilingAsync(settings, warmup, copyScores, cancellationToken);
            // The warm-ups inserted millions of rows, which sets autovacuum going (PostgreSQL vacuums and analyzes a
            // table after enough inserts). Done now, it cannot land in the first timed round and be billed to
            // whichever side runs then; what the timed rounds' own inserts set going stays inside them.
            await BenchDatabase.VacuumAsync(superuserConnectionString, ["pdm.readings", "pdm.anomaly_scores"], checkpoint: false, cancellationToken);

            Console.WriteLine($"Ingest: {settings.Partitions} partitions, {settings.BatchSize} events per invocation, through the handler over HTTP; " +
                $"ceiling: raw binary COPY of the same readings and one score row per sample into the same tables, {settings.Partitions} connections; " +
                $"{settings.Rounds} rounds alternating the two...");
            // Encoded before the clock starts: the gateways' work is not the cloud's.
            var bodies = Encode(samples);
            // The host's speed drifts by tens of percent within minutes, so each round times a slice of ingest and then
            // the ceiling's COPY of the same slice: both sides of the ratio see the same machine.
            var ingestTime = TimeSpan.Zero;
            var readingsCopy = TimeSpan.Zero;
            var scoresCopy = TimeSpan.Zero;
            var handlerCpu = host.HandlerCpuTime;
            var roundRatios = new List<double>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                var roundIngest = await TimeAsync(() => SendAsync(host, devices, Round(bodies, round, settings.Rounds), settings.BatchSize, cancellationToken));
                var roundSamples = Round(samples, round, settings.Rounds);
                var roundReadings = await CopyCeilingAsync(settings, roundSamples, copyReadings, cancellationToken);
                var roundScores = await CopyCeilingAsync(settings, roundSamples, copyScores, cancellationToken);
                roundRatios.Add(Math.Round((roundReadings + roundScores) / roundIngest, 3));
                ingestTime += roundIngest;
                readingsCopy += roundReadings;
                scoresCopy += roundScores;
            }
            handlerCpu = host.HandlerCpuTime - handlerCpu;
            var stored = await db.Readings.CountReadingsAsync(ingestTenant.Id, cancellationToken) - (warmupRows * settings.Sensors);
            if (stored != settings.Values)
            {
                throw new InvalidOperationException($"Ingest stored {stored:N0} values, expected {settings.Values:N0}: the measurement is not valid.");
            }
            var scored = await db.Scores.CountAnomalyScoresAsync(ingestTenant.Id, cancellationToken) - warmupRows;
            if (scored != settings.Samples)
            {
                throw new InvalidOperationException($"Ingest scored {scored:N0} samples, expected {settings.Samples:N0}: the measurement is not valid.");
            }

            Console.WriteLine("Rollup: the Rollup timer's work over the run's values (per-minute and per-hour rollups of readings and scores)...");
            var rollupTime = Stopwatch.StartNew();
            var rolledUpSpans = await RollUpPendingAsync(db, cancellationToken);
            rollupTime.Stop();

            var copySeconds = readingsCopy.TotalSeconds + scoresCopy.TotalSeconds;

            var result = new IngestBenchResult
            {
                Values = settings.Values,
                Messages = settings.Messages,
                BatchSize = settings.BatchSize,
                Partitions = settings.Partitions,
                Rounds = settings.Rounds,
                RoundRatios = roundRatios,
                IngestSeconds = Math.Round(ingestTime.TotalSeconds, 3),
                CopySeconds = Math.Round(copySeconds, 3),
                ReadingsCopySeconds = Math.Round(readingsCopy.TotalSeconds, 3),
                ValuesPerS = Math.Round(settings.Values / ingestTime.TotalSeconds),
                HandlerCpuSeconds = Math.Round(handlerCpu.TotalSeconds, 2),
                CopyValuesPerS = Math.Round(settings.Values / copySeconds),
                HandlerPeakRssMb = host.HandlerPeakRssMb,
                RollupSeconds = Math.Round(rollupTime.Elapsed.TotalSeconds, 3),
                RollupValuesPerS = Math.Round(settings.Values / rollupTime.Elapsed.TotalSeconds),
            };
            Console.WriteLine($"""

                Ingest end to end : {result.ValuesPerS,12:N0} values/s  ({settings.Values:N0} values in {result.IngestSeconds:N2} s)
                Raw COPY ceiling  : {result.CopyValuesPerS,12:N0} values/s  ({result.CopySeconds:N2} s: readings {result.ReadingsCopySeconds:N2} s + scores {result.CopySeconds - result.ReadingsCopySeconds:N2} s)
                Ratio             : {result.Ratio:P0} of COPY (target ≥ 60%); {result.ReadingsOnlyRatio:P0} of the readings' COPY alone; target ≥ 100,000 values/s
                Ratio by round    : {string.Join(", ", result.RoundRatios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}
                Handler           : {result.HandlerCpuSeconds:N2} s of CPU for the run's values, peak RSS {result.HandlerPeakRssMb:N0} MB
                Rollup afterwards : {result.RollupValuesPerS,12:N0} values/s  ({rolledUpSpans:N0} pending spans in {result.RollupSeconds:N2} s, one run at a time as the timer does)
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

    /// <summary>What one run of the Rollup timer does, with no time budget: every pending span; returns how many.</summary>
    private static async Task<int> RollUpPendingAsync(PdmStores db, CancellationToken cancellationToken) =>
        (await db.Rollups.RollUpWhilePendingAsync(RollupStore.DefaultSpansPerRun, TimeSpan.MaxValue, TimeProvider.System,
            cancellationToken)).Spans;

    /// <summary>Round <paramref name="round"/> of <paramref name="rounds"/>: each partition's items in that share of its invocations.</summary>
    private static T[][] Round<T>(IReadOnlyList<T>[] partitions, int round, int rounds) =>
        [.. partitions.Select(items => items.Skip(round * items.Count / rounds).Take(items.Count / rounds).ToArray())];

    private static async Task<TimeSpan> TimeAsync(Func<Task> work)
    {
        var time = Stopwatch.StartNew();
        await work();
        return time.Elapsed;
    }

    /// <summary>Each partition's gateway sends its messages in invocations of <paramref name="batchSize"/> events.</summary>
    private static Task SendAsync(FunctionsDevHost host, string[] devices, byte[][][] bodies, int batchSize,
        CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, devices.Length).Select(p => Task.Run(async () =>
        {
            foreach (var slice in bodies[p].Chunk(batchSize))
            {
                await InvokeAsync(host, p.ToString(CultureInfo.InvariantCulture), devices[p], slice, cancellationToken);
            }
        }, cancellationToken)));

    /// <summary>Each partition's messages as telemetry v1 bodies.</summary>
    private static byte[][][] Encode(IReadOnlyList<IReadOnlyList<MachineSample>>[] messages) =>
        [.. messages.Select(partition => partition.Select(batch => TelemetryEncoder.Encode(batch)).ToArray())];

    /// <summary>Copies the samples in the ingest run's slices, one connection per partition; returns the elapsed time.</summary>
    private static async Task<TimeSpan> CopyCeilingAsync(IngestBenchSettings settings,
        IReadOnlyList<IReadOnlyList<MachineSample>>[] samples, Func<List<MachineSample>, Task<long>> copy,
        CancellationToken cancellationToken)
    {
        var time = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, settings.Partitions).Select(p => Task.Run(async () =>
        {
            foreach (var slice in samples[p].Chunk(settings.BatchSize))
            {
                await copy([.. slice.SelectMany(s => s)]);
            }
        }, cancellationToken)));
        return time.Elapsed;
    }

    /// <summary>A score row of the same shape Ingest writes (three top contributors).</summary>
    private static AnomalyScoreRow CeilingScore(MachineSample sample) => new()
    {
        MachineId = sample.MachineId,
        Timestamp = sample.Timestamp,
        Sequence = sample.Sequence,
        Score = 0.5,
        Threshold = 2,
        IsAnomaly = false,
        IsolationForest = 0.4,
        Statistical = 0.6,
        Temporal = 0.5,
        IsoZone = null,
        Model = "machine",
        TopSensors = [.. sample.Values.Take(ScoreStore.TopContributors).Select(v => v.Sensor)],
        TopContributions = [.. sample.Values.Take(ScoreStore.TopContributors).Select(_ => 0.1)],
    };

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
    /// <summary>The ceiling: COPY of the readings plus COPY of one score row per sample.</summary>
    public double CopySeconds { get; init; }
    public double ReadingsCopySeconds { get; init; }
    public double ValuesPerS { get; init; }
    public double CopyValuesPerS { get; init; }
    public double Ratio => Math.Round(ValuesPerS / CopyValuesPerS, 3);
    public double ReadingsOnlyRatio => Math.Round(ReadingsCopySeconds / IngestSeconds, 3);
    public double HandlerPeakRssMb { get; init; }
    /// <summary>The handler process's CPU time over the timed ingest rounds.</summary>
    public double HandlerCpuSeconds { get; init; }
    /// <summary>The alternating rounds (ingest slice, then the ceiling's COPY of it) and each round's ratio.</summary>
    public int Rounds { get; init; }
    public IReadOnlyList<double> RoundRatios { get; init; } = [];
    /// <summary>The Rollup timer's work over the run's values, after ingest (not inside its window).</summary>
    public double RollupSeconds { get; init; }
    public double RollupValuesPerS { get; init; }
}

internal static class BenchJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
