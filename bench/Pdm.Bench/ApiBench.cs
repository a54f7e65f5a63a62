using System.Buffers;
using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Bench;

/// <summary>
/// `pdm bench api`: the dashboard's two reads under load. Loads machines × 8 sensors × days at one sample every 10 s
/// (readings and one score per sample, by binary COPY), rolls them up as the Rollup timer would, then sends the fleet
/// overview and 30-day machine charts at a fixed rate through the dev host's HTTP proxy to the real handler.
/// </summary>
internal static class ApiBench
{
    private static readonly string[] Sensors =
        ["temperature", "bearing_temperature", "vibration_x", "vibration_y", "vibration_z", "speed", "current", "pressure"];

    // Long enough for the handler's tiered JIT to settle. On 20 machines it compiled for 18 s of load at 100 requests/s,
    // taking 0.4 to 0.8 of a core of the two (runtime counters); a new instance's first half minute is reported apart.
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(30);

    private static readonly string[] Kinds = ["pump", "compressor", "cnc", "conveyor", "packaging"];

    public static Command Create()
    {
        var machines = new Option<int>("--machines") { Description = "Machines to load", DefaultValueFactory = _ => 20 };
        var days = new Option<int>("--days") { Description = "Days of history per machine (one sample every 10 s)", DefaultValueFactory = _ => 30 };
        var rate = new Option<int>("--rps") { Description = "Requests per second (half fleet overview, half 30-day charts)", DefaultValueFactory = _ => 100 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds of load (after the warm-up at the same rate)", DefaultValueFactory = _ => 30 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("api", "Fleet overview and 30-day machine chart latency at a fixed request rate, on a month of a fleet's data")
        {
            machines, days, rate, seconds, json,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(machines), parse.GetValue(days), parse.GetValue(rate),
            parse.GetValue(seconds), parse.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int machines, int days, int rate, int seconds, bool json, CancellationToken cancellationToken)
    {
        if (machines < 1 || days is < 1 or > 31 || rate < 1 || seconds < 1)
        {
            await Console.Error.WriteLineAsync("--machines, --rps and --seconds must be positive; --days from 1 to 31 (the chart's longest range).");
            return 2;
        }
        var state = Path.Combine(BenchPaths.RepoRoot, ".pdm", $"bench-{Environment.ProcessId}");
        using var logs = new FileLoggerProvider(Path.Combine(state, "bench.log"));
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        try
        {
            await using var stack = await LocalServers.StartAsync(state, BenchPaths.RepoRoot, cancellationToken);
            var database = await stack.PrepareDatabaseAsync("pdm_bench_api", cancellationToken);
            var superuserConnection = new NpgsqlConnectionStringBuilder(stack.Endpoints.PostgresSuperuserConnectionString)
            {
                Database = database.Name,
            }.ConnectionString;
            await using var db = PdmStores.Create(database.AppConnectionString, loggerFactory);
            // COPY FROM is refused on tables under row-level security: the load runs as the superuser.
            await using var superuser = PdmStores.Create(superuserConnection, loggerFactory);
            var tenant = await db.Tenants.CreateTenantAsync("bench-api", cancellationToken);
            var (_, key) = await db.ApiKeys.CreateApiKeyAsync(tenant.Id, "bench-dashboard", ApiKeyRole.Viewer, cancellationToken);

            var end = DateTimeOffset.UtcNow;
            var start = end.AddDays(-days);
            var ids = Enumerable.Range(1, machines).Select(m => $"bench-m{m:D3}").ToArray();
            Console.WriteLine($"Loading {machines} machines × {Sensors.Length} sensors × {days} days at one sample every 10 s ({(long)machines * Sensors.Length * days * 8640:N0} values) by binary COPY...");
            var load = Stopwatch.StartNew();
            var loaded = await LoadAsync(db, superuser, tenant.Id, ids, start, end, cancellationToken);
            load.Stop();
            Console.WriteLine($"  {loaded:N0} values in {load.Elapsed.TotalSeconds:N0} s; rolling up...");
            var rollup = Stopwatch.StartNew();
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellationToken },
                async (id, ct) => await db.Rollups.RollUpAsync(tenant.Id, id, Sensors, start, end, ct));
            rollup.Stop();
            // Fresh statistics and visibility maps, and a checkpoint: a month of data that settled over the month, not a
            // backlog that autovacuum and the checkpointer would work through during the measurement.
            await BenchDatabase.VacuumAsync(superuserConnection,
                ["pdm.readings", "pdm.anomaly_scores", "pdm.reading_rollups_1m", "pdm.reading_rollups_1h", "pdm.score_rollups_1m",
                 "pdm.score_rollups_1h", "pdm.machines", "pdm.predictions", "pdm.machine_activity"], checkpoint: true, cancellationToken);
            var stored = await CountAsync(superuserConnection, "SELECT count(*) FROM pdm.readings", cancellationToken);
            if (stored != loaded)
            {
                throw new InvalidOperationException($"{stored:N0} values stored, {loaded:N0} loaded: the measurement is not valid.");
            }
            Console.WriteLine($"  rolled up in {rollup.Elapsed.TotalSeconds:N0} s");

            await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
            {
                FunctionAppDirectory = BenchPaths.FunctionApp,
                Environment = new Dictionary<string, string>(BenchEnvironment.TimersOff(LocalEnvironment.FunctionAppSettings(stack.Endpoints, database)))
                {
                    // One dashboard key sends the whole load.
                    ["Pdm__Api__RequestsPerKey"] = "1000000",
                    ["Pdm__Api__RequestsPerAddress"] = "1000000",
                },
            }, loggerFactory, cancellationToken);

            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
            {
                BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30),
            };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var chartQuery = string.Create(CultureInfo.InvariantCulture,
                $"from={end.AddDays(-days).AddMinutes(1).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}&to={end.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}");
            var chartBytes = await CheckChartAsync(client, ids[0], chartQuery, cancellationToken);

            Console.WriteLine($"Load: {rate} requests/s for {WarmUp.TotalSeconds} s of warm-up and {seconds} s measured, alternating fleet overview and 30-day charts of random machines, through the dev host's HTTP proxy...");
            var warmUp = await SendAsync(client, ids, chartQuery, rate, WarmUp, cancellationToken);
            var cpuBefore = host.HandlerCpuTime;
            var run = await SendAsync(client, ids, chartQuery, rate, TimeSpan.FromSeconds(seconds), cancellationToken);
            var handlerCpu = host.HandlerCpuTime - cpuBefore;

            var result = new ApiBenchResult
            {
                Rps = Math.Round(run.Completed / run.Elapsed.TotalSeconds, 1),
                FleetP50Ms = Percentile(run.Fleet, 0.50),
                FleetP99Ms = Percentile(run.Fleet, 0.99),
                Chart30dP50Ms = Percentile(run.Chart, 0.50),
                Chart30dP99Ms = Percentile(run.Chart, 0.99),
                ReadingsLoaded = loaded,
                Machines = machines,
                Days = days,
                LoadSeconds = Math.Round(load.Elapsed.TotalSeconds, 1),
                RollupSeconds = Math.Round(rollup.Elapsed.TotalSeconds, 1),
                Requests = run.Completed,
                WarmUpFleetP99Ms = Percentile(warmUp.Fleet, 0.99),
                WarmUpChart30dP99Ms = Percentile(warmUp.Chart, 0.99),
                HandlerCpuMsPerRequest = Math.Round(handlerCpu.TotalMilliseconds / Math.Max(1, run.Completed), 2),
                ChartKb = Math.Round(chartBytes / 1024.0),
            };
            Console.WriteLine($"""

                Requests             : {result.Requests:N0} in {run.Elapsed.TotalSeconds:N1} s = {result.Rps:N1}/s (asked {rate}/s), all 200
                Fleet overview       : p50 {result.FleetP50Ms} ms, p99 {result.FleetP99Ms} ms (target p99 < 50 ms)
                30-day machine chart : p50 {result.Chart30dP50Ms} ms, p99 {result.Chart30dP99Ms} ms (target p99 < 50 ms)
                During the warm-up   : fleet p99 {result.WarmUpFleetP99Ms} ms, chart p99 {result.WarmUpChart30dP99Ms} ms (a new instance, its JIT at work)
                Handler CPU          : {result.HandlerCpuMsPerRequest} ms a request over the measured run (a 30-day chart is {result.ChartKb:N0} KB of JSON)
                Data                 : {loaded:N0} readings + {loaded / Sensors.Length:N0} scores loaded in {result.LoadSeconds} s, rolled up in {result.RollupSeconds} s
                """);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Options));
            }
            return 0;
        }
        finally
        {
            BenchCommand.TryDelete(state);
        }
    }

    /// <summary>Names, kinds, one prediction each; then readings and scores a machine-day per COPY, two at a time.</summary>
    private static async Task<long> LoadAsync(PdmStores db, PdmStores superuser, Guid tenant, string[] ids, DateTimeOffset start,
        DateTimeOffset end, CancellationToken cancellationToken)
    {
        var risks = new[] { "LOW", "LOW", "LOW", "MEDIUM", "HIGH", "CRITICAL" };
        for (var m = 0; m < ids.Length; m++)
        {
            await db.Machines.UpsertMachineAsync(tenant, ids[m], $"Machine {m + 1}", Kinds[m % Kinds.Length], cancellationToken);
            var risk = risks[m % risks.Length];
            using var probabilities = JsonDocument.Parse(risk == "LOW" ? """{"HEALTHY":0.9,"WARNING":0.1}""" : """{"HEALTHY":0.2,"WARNING":0.5,"FAULTY":0.3}""");
            using var explanation = JsonDocument.Parse("{}");
            await db.Predictions.WritePredictionsAsync(tenant,
            [
                new PredictionRow
                {
                    MachineId = ids[m], At = end, Health = risk == "LOW" ? "HEALTHY" : "WARNING",
                    HealthProbabilities = probabilities.RootElement.Clone(), RulSeconds = (m + 1) * 36_000.0,
                    RulP10Seconds = (m + 1) * 18_000.0, RulP90Seconds = (m + 1) * 72_000.0, FailureProbability24h = risk == "CRITICAL" ? 0.7 : 0.01,
                    FailureProbability48h = risk is "CRITICAL" or "HIGH" ? 0.8 : 0.02, Risk = risk, Explanation = explanation.RootElement.Clone(),
                    Models = "",
                },
            ], cancellationToken);
        }

        var chunks = ids.SelectMany((id, m) => Enumerable.Range(0, (int)Math.Ceiling((end - start).TotalDays))
            .Select(day => (Id: id, Seed: (m * 1000) + day, From: start.AddDays(day)))).ToList();
        long loaded = 0;
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellationToken },
            async (chunk, ct) =>
            {
                var to = chunk.From.AddDays(1) < end ? chunk.From.AddDays(1) : end;
                var samples = MachineDay(chunk.Id, chunk.From, to, chunk.Seed);
                Interlocked.Add(ref loaded, await superuser.Readings.CopyRawAsync(tenant, samples, ct));
                await superuser.Scores.CopyRawScoresAsync(tenant, [.. samples.Select(Score)], ct);
            });
        return loaded;
    }

    /// <summary>A machine's samples every 10 s over [from, to): a daily cycle, noise and a slow drift per sensor.</summary>
    private static List<MachineSample> MachineDay(string machineId, DateTimeOffset from, DateTimeOffset to, int seed)
    {
        var random = new Random(seed);
        var samples = new List<MachineSample>(8640);
        for (var at = from; at < to; at = at.AddSeconds(10))
        {
            var cycle = Math.Sin(at.TimeOfDay.TotalHours / 24 * 2 * Math.PI);
            samples.Add(new MachineSample
            {
                MachineId = machineId,
                Timestamp = at,
                Sequence = at.ToUnixTimeSeconds(),
                Values = [.. Sensors.Select((sensor, i) => new SensorValue(sensor, 10 * (i + 1) + (3 * cycle) + random.NextDouble()))],
            });
        }
        return samples;
    }

    private static AnomalyScoreRow Score(MachineSample sample) => new()
    {
        MachineId = sample.MachineId,
        Timestamp = sample.Timestamp,
        Sequence = sample.Sequence,
        Score = sample.Values[0].Value / 100,
        Threshold = 0.5,
        IsAnomaly = sample.Sequence % 997 == 0,
        IsolationForest = 0.4,
        Statistical = 0.6,
        Temporal = 0.5,
        IsoZone = "A",
        Model = "machine",
        TopSensors = [.. sample.Values.Take(ScoreStore.TopContributors).Select(v => v.Sensor)],
        TopContributions = [.. sample.Values.Take(ScoreStore.TopContributors).Select(_ => 0.1)],
    };

    private static async Task<long> CountAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// The chart the load asks for must be the hourly one with every sensor and its scores, or nothing is measured;
    /// returns its size in bytes.
    /// </summary>
    private static async Task<int> CheckChartAsync(HttpClient client, string machineId, string query, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync($"api/v1/machines/{machineId}/series?{query}", cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The chart answered {(int)response.StatusCode}: {body}");
        }
        using var chart = JsonDocument.Parse(body);
        var sensors = chart.RootElement.GetProperty("sensors");
        if (chart.RootElement.GetProperty("resolution").GetString() != "1h" || sensors.GetArrayLength() != Sensors.Length
            || sensors[0].GetProperty("points").GetArrayLength() < 24 || chart.RootElement.GetProperty("scores").GetArrayLength() < 24)
        {
            throw new InvalidOperationException($"The 30-day chart is not the hourly one with every sensor: {body[..Math.Min(body.Length, 400)]}");
        }
        return Encoding.UTF8.GetByteCount(body);
    }

    private sealed record LoadRun(int Completed, TimeSpan Elapsed, List<double> Fleet, List<double> Chart);

    /// <summary>
    /// Open loop: request i is sent at start + i / rate whether or not earlier ones have answered, so a slow answer
    /// cannot lower the offered load. Latency is from sending to the whole body read. Any answer but 200 fails the run.
    /// </summary>
    private static async Task<LoadRun> SendAsync(HttpClient client, string[] ids, string chartQuery, int rate, TimeSpan duration,
        CancellationToken cancellationToken)
    {
        var fleet = new ConcurrentBag<double>();
        var chart = new ConcurrentBag<double>();
        var random = new Random(7);
        var count = (int)(duration.TotalSeconds * rate);
        var requests = new List<Task>(count);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            // Read the clock once: a second read can be past the due time and make the wait negative.
            var wait = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
            var isFleet = i % 2 == 0;
            var url = isFleet ? "api/v1/fleet" : $"api/v1/machines/{ids[random.Next(ids.Length)]}/series?{chartQuery}";
            requests.Add(Task.Run(async () =>
            {
                var sent = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
                await ReadToEndAsync(response, cancellationToken);
                (isFleet ? fleet : chart).Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }, cancellationToken));
        }
        await Task.WhenAll(requests);
        return new LoadRun(count, clock.Elapsed, [.. fleet], [.. chart]);
    }

    /// <summary>
    /// Reads the whole body into a pooled buffer and drops it. Buffering it (HttpClient's default) gave the load
    /// generator a large-object-heap array per chart, about two full collections a second in the process that also
    /// runs the dev host's proxy: pauses that were timed as the handler's latency.
    /// </summary>
    private static async Task ReadToEndAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            while (await body.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        values.Sort();
        return values.Count == 0 ? 0 : Math.Round(values[Math.Min(values.Count - 1, (int)Math.Ceiling(p * values.Count) - 1)], 1);
    }
}

internal sealed record ApiBenchResult
{
    public double Rps { get; init; }
    public double FleetP50Ms { get; init; }
    public double FleetP99Ms { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("chart30d_p50_ms")] public double Chart30dP50Ms { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("chart30d_p99_ms")] public double Chart30dP99Ms { get; init; }
    public long ReadingsLoaded { get; init; }
    public int Machines { get; init; }
    public int Days { get; init; }
    public double LoadSeconds { get; init; }
    public double RollupSeconds { get; init; }
    public int Requests { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("warmup_fleet_p99_ms")] public double WarmUpFleetP99Ms { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("warmup_chart30d_p99_ms")] public double WarmUpChart30dP99Ms { get; init; }
    public double HandlerCpuMsPerRequest { get; init; }
    public double ChartKb { get; init; }
}
