using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pdm.DevHost;
using Pdm.DevHost.Events;
using Pdm.LocalStack;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Bench;

/// <summary>What the delivery half of `pdm bench alerts` measured.</summary>
internal sealed record AlertDeliveryResult(double P50Ms, double P99Ms, int LatencySamples, double DeliveriesPerS, int BurstAlerts);

/// <summary>
/// The real pipeline on this machine: the function app under the dev host with PostgreSQL and Azurite, a tenant whose
/// rule set raises an alert on a hot sample, and a local receiver subscribed through the API that verifies every
/// signature. Latency: one machine at a time sends one crossing sample into Ingest; the clock runs from the invocation
/// to the signed webhook's arrival. Throughput: a burst of crossings from many machines, deliveries per second from the
/// first invocation to the last arrival.
/// </summary>
internal static class AlertDeliveryBench
{
    private const string RuleSet = """
        {"version":1,"rules":[{"id":"overheat","kind":"sensor_limits","severity":"HIGH","sensor":"temperature","high":100}],"overrides":[]}
        """;

    public static async Task<AlertDeliveryResult> RunAsync(int latencyAlerts, int burstAlerts, Action<string> progress,
        CancellationToken cancellationToken)
    {
        // The state (servers, logs) stays when the measurement fails, for its logs.
        var state = Path.Combine(BenchPaths.RepoRoot, ".pdm", $"bench-{Environment.ProcessId}");
        var result = await MeasureAsync(state, latencyAlerts, burstAlerts, progress, cancellationToken);
        BenchCommand.TryDelete(state);
        return result;
    }

    private static async Task<AlertDeliveryResult> MeasureAsync(string state, int latencyAlerts, int burstAlerts, Action<string> progress,
        CancellationToken cancellationToken)
    {
        using var logs = new FileLoggerProvider(Path.Combine(state, "bench.log"));
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        {
            await using var stack = await LocalServers.StartAsync(state, BenchPaths.RepoRoot, cancellationToken);
            var database = await stack.PrepareDatabaseAsync("pdm_bench_alerts", cancellationToken);
            await using var db = PdmStores.Create(database.AppConnectionString, loggerFactory);
            var tenant = await db.Tenants.CreateTenantAsync("bench-alerts", cancellationToken);
            const string device = "bench-alerts-gw";
            await db.Devices.RegisterDeviceAsync(tenant.Id, device, cancellationToken);
            var (_, key) = await db.ApiKeys.CreateApiKeyAsync(tenant.Id, "bench", ApiKeyRole.Admin, cancellationToken);

            await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
            {
                FunctionAppDirectory = BenchPaths.FunctionApp,
                // The alert path only: ingest publishes after its commit, and the PublishAlerts sweep stays on.
                Environment = new Dictionary<string, string>(BenchEnvironment.TimersOff(
                    LocalEnvironment.FunctionAppSettings(stack.Endpoints, database), keep: "PUBLISH_ALERTS_SCHEDULE"))
                {
                    // The receiver listens on 127.0.0.1 over http: development settings.
                    ["Pdm__Webhooks__AllowHttp"] = "true",
                    ["Pdm__Webhooks__AllowLoopback"] = "true",
                },
            }, loggerFactory, cancellationToken);

            var arrivals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            await using var receiver = await WebhookReceiver.StartAsync(Path.Combine(state, "webhooks.log"), cancellationToken,
                body => arrivals.TryAdd(MachineOf(body), Stopwatch.GetTimestamp()));
            using var api = new HttpClient { BaseAddress = host.BaseAddress };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using (var rules = new StringContent(RuleSet, System.Text.Encoding.UTF8, "application/json"))
            {
                // A new tenant has no rule set yet, so no If-Match.
                (await api.PutAsync("api/v1/alert-rules", rules, cancellationToken)).EnsureSuccessStatusCode();
            }
            var subscription = await api.PostAsJsonAsync("api/v1/webhooks",
                new { url = receiver.Url, description = "bench receiver", allowLoopback = true }, cancellationToken);
            subscription.EnsureSuccessStatusCode();
            receiver.UseSecret((await subscription.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("secret").GetString()!);

            // Warm-up, not counted: JIT, pools, the queue's first poll.
            await CrossAsync(host, device, ["WARM_0"], cancellationToken);
            await WaitForAsync(arrivals, ["WARM_0"], TimeSpan.FromSeconds(60), cancellationToken);

            progress($"Latency: {latencyAlerts} alerts, one machine at a time, from the Ingest invocation to the signed webhook...");
            var latencies = new List<double>(latencyAlerts);
            for (var i = 0; i < latencyAlerts; i++)
            {
                var machine = string.Create(CultureInfo.InvariantCulture, $"LAT_{i:D4}");
                var sent = Stopwatch.GetTimestamp();
                await CrossAsync(host, device, [machine], cancellationToken);
                await WaitForAsync(arrivals, [machine], TimeSpan.FromSeconds(30), cancellationToken);
                latencies.Add(Stopwatch.GetElapsedTime(sent, arrivals[machine]).TotalMilliseconds);
            }

            // The burst's path (invocations of 100 events, queue batches, many deliveries at once) is not the latency
            // run's: an untimed burst of the same size first, so the timed one is steady state and not the tiered JIT.
            progress($"Throughput: {burstAlerts} alerts from as many machines, in invocations of 100 events, after an untimed burst of as many...");
            await BurstAsync(host, device, arrivals, "WARM_BURST", burstAlerts, cancellationToken);
            // The JIT's background promotions (to optimized code) run on behind a burst for a few seconds: let them end.
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            var seconds = await BurstAsync(host, device, arrivals, "BURST", burstAlerts, cancellationToken);
            if (receiver.Refused > 0)
            {
                throw new InvalidOperationException($"The receiver refused {receiver.Refused} deliveries for their signature: the measurement is not valid.");
            }

            latencies.Sort();
            return new AlertDeliveryResult(Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies.Count,
                burstAlerts / seconds, burstAlerts);
        }
    }

    /// <summary>Alerts from <paramref name="count"/> machines in invocations of 100 events; the seconds until the last arrived.</summary>
    private static async Task<double> BurstAsync(FunctionsDevHost host, string device, ConcurrentDictionary<string, long> arrivals,
        string prefix, int count, CancellationToken cancellationToken)
    {
        var burst = Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{prefix}_{i:D5}")).ToArray();
        var start = Stopwatch.GetTimestamp();
        foreach (var slice in burst.Chunk(100))
        {
            await CrossAsync(host, device, slice, cancellationToken);
        }
        await WaitForAsync(arrivals, burst, TimeSpan.FromMinutes(5), cancellationToken);
        return Stopwatch.GetElapsedTime(start, burst.Max(m => arrivals[m])).TotalSeconds;
    }

    /// <summary>One event per machine, each with one sample whose temperature crosses the rule's limit.</summary>
    private static async Task CrossAsync(FunctionsDevHost host, string device, IReadOnlyList<string> machines, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var events = machines.Select(m => new DeviceEvent
        {
            DeviceId = device,
            Body = TelemetryEncoder.Encode([new MachineSample
            {
                MachineId = m, Timestamp = now, Sequence = 1, Values = [new SensorValue("temperature", 150), new SensorValue("current", 12)],
            }]),
        }).ToList();
        var outcome = await host.InvokeEventHubAsync("Ingest", "0", events, cancellationToken);
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"Ingest invocation failed: {outcome.Error}");
        }
    }

    private static async Task WaitForAsync(ConcurrentDictionary<string, long> arrivals, string[] machines, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!machines.All(arrivals.ContainsKey))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                var missing = machines.Count(m => !arrivals.ContainsKey(m));
                throw new TimeoutException($"{missing} of {machines.Length} alerts did not arrive at the receiver within {timeout.TotalSeconds:0} s (logs kept in .pdm/bench-{Environment.ProcessId}).");
            }
            await Task.Delay(2, cancellationToken);
        }
    }

    private static string MachineOf(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("data").GetProperty("alert").GetProperty("subjectId").GetString() ?? "";
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)], 1);
}
