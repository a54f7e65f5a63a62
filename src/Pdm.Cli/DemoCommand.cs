using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Mqtt;
using Pdm.Simulator;
using Pdm.Simulator.Plc;
using Pdm.Simulator.Twin;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>
/// `pdm demo`: the whole pipeline on this machine, on the path a plant takes. Brings up the stack, runs the real
/// function app under the dev host, creates a demo tenant and registers a gateway through the API, exposes the
/// simulated fleet as Modbus TCP slaves (the PLCs), and runs the edge module as its own process: it polls the PLCs
/// and sends telemetry over MQTT with the gateway's credentials. Live progress until Ctrl-C (or --duration).
/// </summary>
internal static class DemoCommand
{
    private const string TenantName = "demo";
    private const string GatewayId = "demo-gateway-01";

    /// <summary>The demo plant's time scale: lives of about 30 machine days, one wall minute is one machine day (docs/demo.md).</summary>
    private static readonly PlantOptions Plant = new();

    /// <summary>
    /// Predict every 10 s (four machine hours), so a machine's last machine day before failure gets several
    /// predictions; and its anomaly picture over the last eight machine hours (20 samples at the default interval).
    /// </summary>
    private const string PredictSchedule = "*/10 * * * * *";
    private static readonly TimeSpan AnomalyWindow = TimeSpan.FromHours(8);

    public static Command Create()
    {
        var duration = new Option<int>("--duration") { Description = "Stop after this many seconds (0: run until Ctrl-C)", DefaultValueFactory = _ => 0 };
        var pumps = new Option<int>("--pumps") { Description = "Centrifugal pumps beside the five original machines", DefaultValueFactory = _ => 3 };
        var interval = new Option<double>("--interval") { Description = "Seconds between polls of each PLC", DefaultValueFactory = _ => 1 };
        var command = new Command("demo", "Run the whole pipeline locally: simulated PLCs, edge module, functions, PostgreSQL") { duration, pumps, interval };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(duration), parse.GetValue(pumps), TimeSpan.FromSeconds(parse.GetValue(interval)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int durationSeconds, int pumps, TimeSpan interval, CancellationToken cancellationToken)
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
        var definition = PlantFleet.Layout(seed: 7, pumpCount: pumps);

        var modelsFolder = Path.Combine(CliPaths.LocalState, "models");
        Step($"Default models from the digital twin on the plant's time scale: anomaly, rul and state per machine kind (training data in {CliPaths.Relative(modelsFolder)})");
        await using (var models = await ModelRegistryAccess.OpenAsync(database.OwnerConnectionString, e.StorageConnectionString, cancellationToken))
        {
            await DemoModels.EnsureAsync(models!.Registry, definition.Machines.Select(m => m.Kind), modelsFolder, Plant, interval,
                line => Console.WriteLine($"    {line}"), cancellationToken);
        }

        Step("Starting the function app under the dev host (Ingest, Predict, AlertTick, PublishAlerts, DeliverWebhook, Api, ReplayDeadLetters)");
        var settings = new Dictionary<string, string>(LocalEnvironment.FunctionAppSettings(e, database))
        {
            // Predict reads the readings' clock as machine time at this factor: remaining life and the 24 h / 48 h horizons
            // are the machines' time, as the models were trained.
            ["Pdm__Predict__TimeScale"] = Plant.Compression.ToString(CultureInfo.InvariantCulture),
            ["Pdm__Predict__AnomalyWindow"] = AnomalyWindow.ToString("c", CultureInfo.InvariantCulture),
            ["PREDICT_SCHEDULE"] = PredictSchedule,
            // Alerts resolve themselves after quiet periods on the wall clock. A condition alert waits 6 machine hours
            // (15 s here), so a replaced machine's alerts close as a real one's would; the others wait 30 s, long enough
            // for the feed rules (silent, offline), short enough that a replaced machine's prediction alerts close.
            ["Pdm__Alerts__ConditionQuietPeriod"] = (TimeSpan.FromHours(6) / Plant.Compression).ToString("c", CultureInfo.InvariantCulture),
            ["Pdm__Alerts__QuietPeriod"] = TimeSpan.FromSeconds(30).ToString("c", CultureInfo.InvariantCulture),
            // The demo's webhook receiver listens on 127.0.0.1 over http: development settings, never for production.
            ["Pdm__Webhooks__AllowHttp"] = "true",
            ["Pdm__Webhooks__AllowLoopback"] = "true",
        };
        await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
        {
            FunctionAppDirectory = CliPaths.FunctionApp,
            Environment = settings,
            Mqtt = new MqttOptions { Host = "127.0.0.1", Port = e.MqttServicePort, ClientId = DevHostOptions.DefaultMqttClientId, Username = e.MqttServiceUser, Password = e.MqttServicePassword, CleanSession = false },
        }, loggerFactory, cancellationToken);

        Step("Creating the demo tenant and registering the gateway through the API");
        await using var db = PdmStores.Create(database.AppConnectionString, loggerFactory);
        var (_, adminKey) = await db.ApiKeys.CreateApiKeyAsync(null, $"demo-{DateTime.UtcNow:yyyyMMddHHmmss}", ApiKeyRole.PlatformAdmin, cancellationToken);
        using var api = new HttpClient { BaseAddress = host.BaseAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        var tenant = await FindOrCreateTenantAsync(api, cancellationToken);
        var tenantKey = await ReadAsync<CreatedKey>(await api.PostAsJsonAsync($"api/v1/tenants/{tenant.Id}/api-keys",
            new { name = "demo operator", role = "admin" }, cancellationToken), cancellationToken);
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenantKey.Key);
        var gateway = await ReadAsync<RegisteredDevice>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId = GatewayId }, cancellationToken), cancellationToken);

        var webhookLog = Path.Combine(CliPaths.LocalState, "logs", "webhooks.log");
        await using var receiver = await WebhookReceiver.StartAsync(webhookLog, cancellationToken);
        await SubscribeReceiverAsync(api, receiver, cancellationToken);
        Step($"Alerts go to a webhook receiver on {receiver.Url} that verifies every signature; it writes each event to {CliPaths.Relative(webhookLog)}");

        var machines = PlantFleet.Create(definition, Plant, loggerFactory.CreateLogger("Pdm.Simulator.Twin"));
        using var plcs = PlcFleet.StartTcp(new FleetSimulator(machines));
        Step($"Simulated PLCs: {plcs.Machines.Count} Modbus TCP slaves on 127.0.0.1 (register map: docs/plc-simulator.md); "
            + $"digital twins that live about {Plant.MeanLife.TotalDays:0} days of machine time, installed at staggered ages, "
            + $"replaced {Plant.RepairTime.TotalHours:0} machine hours after they break");
        Step($"Time scale: the machines run {Plant.Compression:0} times faster than the wall clock: 1 s is "
            + $"{Plant.ToMachine(TimeSpan.FromSeconds(1)).TotalMinutes:0} machine minutes, 1 min is {Plant.ToMachine(TimeSpan.FromMinutes(1)).TotalHours:0} machine hours; "
            + "telemetry keeps wall-clock timestamps, remaining life and the 24 h / 48 h horizons are machine time (docs/demo.md)");
        var plcRun = plcs.RunAsync(interval, TimeProvider.System, stop.Token);

        var edgeDirectory = Path.Combine(CliPaths.LocalState, "edge");
        var configFile = Path.Combine(edgeDirectory, "config.json");
        Directory.CreateDirectory(Path.Combine(edgeDirectory, "data"));
        await File.WriteAllTextAsync(configFile, plcs.EdgeConfigurationJson(GatewayId, interval), cancellationToken);
        Step($"Edge module '{GatewayId}' polls them and sends to MQTT 127.0.0.1:{e.MqttPort} (config {CliPaths.Relative(configFile)})");
        var statusFile = Path.Combine(edgeDirectory, "data", "status.json");
        File.Delete(statusFile);
        await using var edge = EdgeModuleProcess.Start(CliPaths.EdgeModule, Path.Combine(edgeDirectory, "data"), configFile, e.MqttPort, GatewayId, gateway.PrimaryKey,
            Path.Combine(CliPaths.LocalState, "logs", "edge-module.log"), TimeSpan.FromSeconds(1));

        Console.WriteLine($"""

            Machines: {string.Join(", ", plcs.Machines.Select(m => $"{m.Profile.MachineId} {m.Profile.Name} ({m.Profile.Location})"))}.
            Try the API while it runs, with the demo tenant's key:
              open {host.BaseAddress}api/dashboard/ in a browser (the dashboard) and sign in with the key
              curl -H "Authorization: Bearer {tenantKey.Key}" {host.BaseAddress}api/v1/machines
              curl -H "Authorization: Bearer {tenantKey.Key}" "{host.BaseAddress}api/v1/machines/EG_M001/readings?limit=5"
              curl -H "Authorization: Bearer {tenantKey.Key}" "{host.BaseAddress}api/v1/alerts?status=open"
            Watch alerts arrive as signed webhooks (one machine or another fails every few minutes):
              tail -f {CliPaths.Relative(webhookLog)}     or open {new Uri(receiver.Url, "/")}
            Edit {CliPaths.Relative(configFile)} (for example pollIntervalMs) and the module applies it without a restart;
            its status is in {CliPaths.Relative(statusFile)}, its log in .pdm/local/logs/edge-module.log.
            Press Ctrl-C to stop. Full log: {CliPaths.Relative(logFile)}

            """);
        var readingsAtStart = await db.Readings.CountReadingsAsync(tenant.Id, cancellationToken);
        await using var scores = new ScoreCounter(database.OwnerConnectionString, tenant.Id);
        var scoresAtStart = await scores.TryCountAsync();
        var clock = Stopwatch.StartNew();
        var watch = new DemoWatch(stack.FindStoppedServer, edge, () => host.Stats, new RestartBudget(3, TimeSpan.FromMinutes(5), TimeProvider.System));
        var naming = new MachineNaming(api, definition);
        var failed = false;
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            if (watch.Check() is { } report)
            {
                Console.WriteLine();
                Console.Error.WriteLine(report.Message);
                if (report.Fatal)
                {
                    failed = true;
                    break;
                }
            }
            var status = EdgeStatus.TryRead(statusFile);
            var stored = await TryCountAsync(db.Readings, tenant.Id) - readingsAtStart;
            var scored = await scores.TryCountAsync() is { } now
                ? $", scored {now.Scores - (scoresAtStart?.Scores ?? 0)} ({now.Anomalies - (scoresAtStart?.Anomalies ?? 0)} anomalous)"
                : "";
            await naming.TryNameAsync();
            Console.Write($"\r  {clock.Elapsed:hh\\:mm\\:ss}  {PlantStatus(Plant.ToMachine(clock.Elapsed), PlantFleet.Census(machines))}"
                + $"  |  alerts received {receiver.Received}  |  edge: {(edge.HasExited ? "restarting" : status?.Summary ?? "starting")}"
                + $"  |  delivered {host.Stats.EventsDelivered} events, stored {stored} readings{scored}   ");
        }
        Console.WriteLine();
        // The PLCs run until stop is cancelled: cancel it here too, so a failure does not wait for --duration or Ctrl-C.
        await stop.CancelAsync();
        await plcRun;
        if (failed)
        {
            Console.Error.WriteLine($"The demo stopped because a part of it failed (above). Full log: {CliPaths.Relative(logFile)}");
            return 1;
        }

        Console.WriteLine($"""

            Stopped: {await TryCountAsync(db.Readings, tenant.Id) - readingsAtStart} readings stored in this run.
            The data stays in .pdm/local. `./pdm stack up` brings the database back and prints the psql command, e.g.
              select machine_id, sensor, count(*), min(ts), max(ts) from pdm.readings group by 1, 2;
            Log of this run: {CliPaths.Relative(logFile)}
            """);
        return 0;
    }

    private static async Task<TenantInfo> FindOrCreateTenantAsync(HttpClient api, CancellationToken cancellationToken)
    {
        // The list is paged: follow nextLink until the demo tenant turns up or the pages end.
        for (string? page = "api/v1/tenants?limit=1000"; page is not null;)
        {
            var tenants = await ReadAsync<TenantPage>(await api.GetAsync(page.TrimStart('/'), cancellationToken), cancellationToken);
            if (tenants.Items.FirstOrDefault(t => t.Name == TenantName) is { } found)
            {
                return found;
            }
            page = tenants.NextLink;
        }
        return await ReadAsync<TenantInfo>(await api.PostAsJsonAsync("api/v1/tenants", new { name = TenantName }, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Subscribes the demo tenant to this run's receiver, after removing the subscriptions of earlier runs (their
    /// receivers are gone, and their deliveries would only retry for a day).
    /// </summary>
    private static async Task SubscribeReceiverAsync(HttpClient api, WebhookReceiver receiver, CancellationToken cancellationToken)
    {
        const string description = "pdm demo receiver";
        foreach (var old in (await ReadAsync<List<Subscription>>(await api.GetAsync("api/v1/webhooks", cancellationToken), cancellationToken))
            .Where(s => s.Description == description))
        {
            (await api.DeleteAsync($"api/v1/webhooks/{old.Id}", cancellationToken)).EnsureSuccessStatusCode();
        }
        var created = await ReadAsync<Subscription>(await api.PostAsJsonAsync("api/v1/webhooks",
            new { url = receiver.Url, description, allowLoopback = true }, cancellationToken), cancellationToken);
        receiver.UseSecret(created.Secret!);
    }

    private static async Task<long> TryCountAsync(ReadingStore readings, Guid tenant)
    {
        try
        {
            return await readings.CountReadingsAsync(tenant, CancellationToken.None);
        }
        catch (Npgsql.NpgsqlException)
        {
            return 0; // shown as 0 while the database is away; ingest parks and replays meanwhile
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

    /// <summary>"plant day 3 07:12 (×1440)  |  6 healthy, 1 degrading, 1 failed, 4 replaced": what a viewer of the plant needs.</summary>
    internal static string PlantStatus(TimeSpan machineTime, PlantCensus census) => string.Create(CultureInfo.InvariantCulture,
        $"plant day {machineTime.Days + 1} {machineTime:hh\\:mm} (x{Plant.Compression:0})  |  {census.Healthy} healthy, "
        + $"{census.Degrading} degrading, {census.Failed} failed, {census.Replacements} replaced");


    private sealed record TenantInfo(Guid Id, string Name);

    private sealed record TenantPage(IReadOnlyList<TenantInfo> Items, string? NextLink);
    private sealed record CreatedKey(Guid Id, string Key);
    private sealed record RegisteredDevice(string DeviceId, string PrimaryKey);
    private sealed record Subscription(Guid Id, string? Description, string? Secret);
}
