using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Messaging.Mqtt;
using Pdm.Simulator;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>
/// `pdm demo`: the whole pipeline on this machine. Brings up the stack, runs the real function app under the dev
/// host, creates a demo tenant and registers a gateway through the API, lets the simulated fleet publish over
/// MQTT with the gateway's own credentials, and shows live progress until Ctrl-C (or --duration).
/// </summary>
internal static class DemoCommand
{
    private const string TenantName = "demo";
    private const string GatewayId = "demo-gateway-01";

    public static Command Create()
    {
        var duration = new Option<int>("--duration") { Description = "Stop after this many seconds (0: run until Ctrl-C)", DefaultValueFactory = _ => 0 };
        var pumps = new Option<int>("--pumps") { Description = "Centrifugal pumps beside the five original machines", DefaultValueFactory = _ => 3 };
        var interval = new Option<double>("--interval") { Description = "Seconds between gateway messages", DefaultValueFactory = _ => 1 };
        var malformed = new Option<double>("--malformed-rate") { Description = "Share of deliberately malformed messages (shows rejects)", DefaultValueFactory = _ => 0.05 };
        var command = new Command("demo", "Run the whole pipeline locally with a simulated fleet") { duration, pumps, interval, malformed };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(duration), parse.GetValue(pumps), TimeSpan.FromSeconds(parse.GetValue(interval)), parse.GetValue(malformed), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int durationSeconds, int pumps, TimeSpan interval, double malformedRate, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (durationSeconds > 0)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(durationSeconds));
        }
        var logFile = Path.Combine(CliPaths.LocalState, "logs", $"demo-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log");
        using var logs = new FileLoggerProvider(logFile);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));

        Step("Starting PostgreSQL, Mosquitto and Azurite (state in .pdm/local)");
        await using var stack = await LocalServers.StartAsync(CliPaths.LocalState, CliPaths.RepoRoot, cancellationToken);
        var database = await stack.PrepareDatabaseAsync(CliPaths.LocalDatabaseName, cancellationToken);
        var e = stack.Endpoints;

        Step("Starting the function app under the dev host (Ingest, Api, ReplayDeadLetters)");
        await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
        {
            FunctionAppDirectory = CliPaths.FunctionApp,
            Environment = LocalEnvironment.FunctionAppSettings(e, database),
            Mqtt = new MqttOptions { Host = "127.0.0.1", Port = e.MqttPort, ClientId = "pdm-devhost", Username = e.MqttServiceUser, Password = e.MqttServicePassword, CleanSession = false },
        }, loggerFactory, cancellationToken);

        Step("Creating the demo tenant and registering the gateway through the API");
        await using var db = PdmDatabase.Create(database.AppConnectionString, loggerFactory);
        var (_, adminKey) = await db.CreateApiKeyAsync(null, $"demo-{DateTime.UtcNow:yyyyMMddHHmmss}", ApiKeyRole.PlatformAdmin, cancellationToken);
        using var api = new HttpClient { BaseAddress = host.BaseAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        var tenant = await FindOrCreateTenantAsync(api, cancellationToken);
        var tenantKey = await ReadAsync<CreatedKey>(await api.PostAsJsonAsync($"api/v1/tenants/{tenant.Id}/api-keys",
            new { name = "demo operator", role = "tenant-admin" }, cancellationToken), cancellationToken);
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenantKey.Key);
        var gateway = await ReadAsync<RegisteredDevice>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId = GatewayId }, cancellationToken), cancellationToken);

        Step($"Gateway '{GatewayId}' connects to MQTT 127.0.0.1:{e.MqttPort} with its own credentials");
        await using var mqtt = new MosquittoClient(new MqttOptions
        {
            Host = "127.0.0.1", Port = e.MqttPort, ClientId = GatewayId, Username = GatewayId, Password = gateway.PrimaryKey,
        }, loggerFactory.CreateLogger<MosquittoClient>());
        await mqtt.ConnectAsync(cancellationToken);
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault(seed: 7, pumpCount: pumps));
        var simulator = new DeviceSimulator(mqtt, fleet, new DeviceSimulatorOptions
        {
            DeviceId = GatewayId, GatewayId = GatewayId, Interval = interval, MalformedRate = malformedRate,
        }, TimeProvider.System, loggerFactory.CreateLogger<DeviceSimulator>());

        Console.WriteLine($"""

            Simulating {fleet.Machines.Count} machines ({string.Join(", ", fleet.Machines.Select(m => m.MachineId))}).
            Try the API while it runs, with the demo tenant's key:
              curl -H "Authorization: Bearer {tenantKey.Key}" {host.BaseAddress}api/v1/machines
              curl -H "Authorization: Bearer {tenantKey.Key}" "{host.BaseAddress}api/v1/machines/EG_M001/readings?limit=5"
              curl -H "Authorization: Bearer {tenantKey.Key}" {host.BaseAddress}api/v1/rejects
            Press Ctrl-C to stop. Full log: {Relative(logFile)}

            """);
        var readingsAtStart = await db.CountReadingsAsync(tenant.Id, cancellationToken);
        var rejectsAtStart = await TryCountRejectsAsync(api);
        var run = simulator.RunAsync(stop.Token);
        var clock = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None));
            var sent = simulator.Counters;
            var stored = await TryCountAsync(db, tenant.Id) - readingsAtStart;
            var rejects = await TryCountRejectsAsync(api) - rejectsAtStart;
            var stats = host.Stats;
            Console.Write($"\r  {clock.Elapsed:hh\\:mm\\:ss}  sent {sent.MessagesSent} messages ({sent.ValuesSent} values, {sent.MalformedSent} malformed)"
                + $"  |  delivered {stats.EventsDelivered} events  |  stored {stored} readings  |  rejects {rejects}   ");
        }
        Console.WriteLine();
        await run;

        Console.WriteLine($"""

            Stopped: {simulator.Counters.MessagesSent} messages sent, {await TryCountAsync(db, tenant.Id) - readingsAtStart} readings stored in this run.
            The data stays in .pdm/local. `./pdm stack up` brings the database back and prints the psql command, e.g.
              select machine_id, sensor, count(*), min(ts), max(ts) from pdm.readings group by 1, 2;
              select received_at, errors from pdm.rejected_messages order by received_at desc limit 5;
            Log of this run: {Relative(logFile)}
            """);
        return 0;
    }

    private static async Task<TenantInfo> FindOrCreateTenantAsync(HttpClient api, CancellationToken cancellationToken)
    {
        var tenants = await ReadAsync<List<TenantInfo>>(await api.GetAsync("api/v1/tenants", cancellationToken), cancellationToken);
        return tenants.FirstOrDefault(t => t.Name == TenantName)
            ?? await ReadAsync<TenantInfo>(await api.PostAsJsonAsync("api/v1/tenants", new { name = TenantName }, cancellationToken), cancellationToken);
    }

    private static async Task<long> TryCountAsync(PdmDatabase db, Guid tenant)
    {
        try
        {
            return await db.CountReadingsAsync(tenant, CancellationToken.None);
        }
        catch (Npgsql.NpgsqlException)
        {
            return 0; // shown as 0 while the database is away; ingest parks and replays meanwhile
        }
    }

    private static async Task<int> TryCountRejectsAsync(HttpClient api)
    {
        try
        {
            var rejects = await api.GetFromJsonAsync<List<object>>("api/v1/rejects?limit=1000");
            return rejects?.Count ?? 0;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {body}");
        }
        return (await response.Content.ReadFromJsonAsync<T>(cancellationToken))!;
    }

    private static void Step(string text) => Console.WriteLine($"• {text}");

    private static string Relative(string path) => Path.GetRelativePath(CliPaths.RepoRoot, path);

    private sealed record TenantInfo(Guid Id, string Name);
    private sealed record CreatedKey(Guid Id, string Key);
    private sealed record RegisteredDevice(string DeviceId, string PrimaryKey);
}
