using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Playwright;
using Pdm.DevHost;
using Pdm.IotHub;
using Pdm.LocalStack;
using Pdm.Mqtt;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Dashboard.Tests;

/// <summary>
/// The demo's pipeline for the browser: the stack, a migrated database, the real function app under the dev host
/// (which serves the dashboard under /api/dashboard/), a tenant with an admin key, a sensor-limit rule, and a plant of
/// two machines whose readings went through MQTT and ingest: PRESS_07 overheating (its alert opens in ingest) and
/// FAN_02 steady. Chromium is Debian's (PDM_CHROMIUM overrides the path). Entra ID sign-in is configured against a
/// <see cref="TestOpenIdProvider"/>, whose directory <see cref="EntraDirectory"/> is linked to the tenant.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string DegradingMachine = "PRESS_07";
    public const string DegradingName = "Press 7 (hydraulic)";
    public const string SteadyMachine = "FAN_02";
    public const double TemperatureLimit = 100;

    private readonly StackFixture _stack = new();
    private IPlaywright? _playwright;

    public FunctionsDevHost Host { get; private set; } = null!;
    public LocalDatabase Database { get; private set; } = null!;
    public string TenantKey { get; private set; } = "";
    public Guid TenantId { get; private set; }
    public TestOpenIdProvider OpenIdProvider { get; private set; } = null!;
    public Guid EntraDirectory { get; } = Guid.NewGuid();
    public IBrowser Browser { get; private set; } = null!;
    public Uri DashboardAddress => new(Host.BaseAddress, "api/dashboard/");

    /// <summary>Screenshots of this run: .pdm/test-artifacts/dashboard/&lt;UTC time&gt;/ (PDM_TEST_ARTIFACTS overrides the root).</summary>
    public string ArtifactDirectory { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("PDM_TEST_ARTIFACTS") is { Length: > 0 } root ? root : Path.Combine(RepoPaths.Root, ".pdm", "test-artifacts"),
        "dashboard", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        Database = await _stack.CreateDatabaseAsync();
        var owner = PdmStores.Create(Database.AppConnectionString);
        var (_, platformKey) = await owner.ApiKeys.CreateApiKeyAsync(null, "dashboard-tests", ApiKeyRole.PlatformAdmin, CancellationToken.None);
        var endpoints = _stack.Endpoints;
        OpenIdProvider = await TestOpenIdProvider.StartAsync();
        Host = await FunctionsDevHost.StartAsync(new DevHostOptions
        {
            FunctionAppDirectory = RepoPaths.FunctionApp,
            Environment = new Dictionary<string, string>(LocalEnvironment.FunctionAppSettings(endpoints, Database))
            {
                // The browser polls every 3 s from loopback; the limits have their own tests.
                ["Pdm__Api__FailedAuthPerAddress"] = "100000",
                ["Pdm__Api__RequestsPerAddress"] = "1000000",
                ["Pdm__Api__RequestsPerKey"] = "1000000",
                ["DEADLETTER_REPLAY_SCHEDULE"] = "0 0 0 1 1 *",
                // Predictions every few seconds, so the machine screen has one soon after the readings are in.
                ["PREDICT_SCHEDULE"] = "*/5 * * * * *",
                ["Pdm__Entra__Authority"] = OpenIdProvider.Authority,
                ["Pdm__Entra__Audience"] = TestOpenIdProvider.Audience,
                ["Pdm__Entra__ClientId"] = TestOpenIdProvider.ClientId,
                ["Pdm__Entra__Scope"] = TestOpenIdProvider.Scope,
                // The app reads the provider's metadata and keys over HTTPS: it trusts the provider's certificate.
                ["SSL_CERT_FILE"] = OpenIdProvider.CertificatePath,
            },
            Mqtt = new MqttOptions
            {
                Host = "127.0.0.1",
                Port = endpoints.MqttServicePort,
                ClientId = $"pdm-dashboard-tests-{Guid.NewGuid():N}"[..28],
                Username = endpoints.MqttServiceUser,
                Password = endpoints.MqttServicePassword,
            },
        }, NullLoggerFactory.Instance, CancellationToken.None);

        OpenIdProvider.RedirectUri = DashboardAddress.ToString();

        using var admin = Api(platformKey);
        var tenant = await ReadAsync<IdDto>(await admin.PostAsJsonAsync("api/v1/tenants", new { name = $"plant-{Guid.NewGuid():N}"[..20] }));
        TenantId = tenant.Id;
        using (var linked = await admin.PatchAsJsonAsync($"api/v1/tenants/{tenant.Id}", new { entraTenantId = EntraDirectory.ToString() }))
        {
            Assert.True(linked.IsSuccessStatusCode, $"linking the Entra directory: {(int)linked.StatusCode} {await linked.Content.ReadAsStringAsync()}");
        }
        using var created = await admin.PostAsJsonAsync($"api/v1/tenants/{tenant.Id}/api-keys", new { name = "maintenance manager", role = "admin" });
        TenantKey = (await ReadAsync<KeyDto>(created)).Key;
        await SeedPlantAsync(owner);

        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("PDM_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium",
            Headless = true,
            // Tests run as root in CI, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        Directory.CreateDirectory(ArtifactDirectory);
    }

    /// <summary>
    /// The rule first (so ingest evaluates it), then a gateway sends 20 minutes of both machines through the broker:
    /// the press's temperature climbs past the limit in its last minutes.
    /// </summary>
    private async Task SeedPlantAsync(PdmStores owner)
    {
        using var api = Api(TenantKey);
        var rules = $$"""
            {"version":1,"rules":[{"id":"overheat","kind":"sensor_limits","severity":"HIGH","sensor":"temperature","high":{{TemperatureLimit}}}],"overrides":[]}
            """;
        using (var put = await api.PutAsync("api/v1/alert-rules", new StringContent(rules, MediaTypeHeaderValue.Parse("application/json"))))
        {
            Assert.True(put.IsSuccessStatusCode, $"alert rules: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }
        await owner.Machines.UpsertMachineAsync(TenantId, DegradingMachine, DegradingName, "press", CancellationToken.None);

        var gateway = $"dash-gw-{Guid.NewGuid():N}"[..16];
        var device = await ReadAsync<DeviceDto>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId = gateway }));
        await using var client = MqttNetClient.Create(new MqttOptions
        {
            Host = "127.0.0.1",
            Port = _stack.Endpoints.MqttPort,
            ClientId = gateway,
            Username = gateway,
            Password = device.PrimaryKey,
        });
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await client.ConnectAsync(timeout.Token);
        }
        const int Samples = 240;
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddSeconds(-5 * Samples);
        var random = new Random(7);
        for (var batch = 0; batch < Samples; batch += 40)
        {
            var samples = new List<MachineSample>();
            for (var i = batch; i < batch + 40; i++)
            {
                var at = start.AddSeconds(5 * i);
                // Flat near 70 °C for three quarters of the window, then a climb to about 115 °C.
                var heat = i < 180 ? 0 : (i - 180) * 0.75;
                samples.Add(Sample(DegradingMachine, at, i, 70 + heat + random.NextDouble(), 2.0 + heat / 10 + random.NextDouble() * 0.2));
                samples.Add(Sample(SteadyMachine, at, i, 45 + random.NextDouble(), 1.1 + random.NextDouble() * 0.1));
            }
            await client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(gateway), TelemetryEncoder.Encode(samples, gateway)), CancellationToken.None);
        }
        await WaitForAsync(async () => (await ReadAsync<AlertsDto>(await api.GetAsync($"api/v1/alerts?machineId={DegradingMachine}"))).Alerts.Count > 0,
            "the overheat alert of the press to open in ingest");
    }

    private static MachineSample Sample(string machine, DateTimeOffset at, long sequence, double temperature, double vibration) => new()
    {
        MachineId = machine,
        Timestamp = at,
        Sequence = sequence,
        Values = [new SensorValue("temperature", temperature), new SensorValue("vibration", vibration)],
    };

    public HttpClient Api(string? key = null)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return JsonSerializer.Deserialize<T>(body, JsonSerializerOptions.Web)!;
    }

    public static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"waited 60 s for {what}");
            }
            await Task.Delay(250);
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        if (OpenIdProvider is not null)
        {
            await OpenIdProvider.DisposeAsync();
        }
        await _stack.DisposeAsync();
    }
}

public sealed record IdDto(Guid Id);
public sealed record KeyDto(Guid Id, string Key);
public sealed record DeviceDto(string DeviceId, string PrimaryKey, string? Endpoint);
public sealed record AlertDto(Guid Id, string SubjectId, string Status, string Severity);
public sealed record AlertsDto(List<AlertDto> Alerts);
public sealed record DeviceListItem(string DeviceId);

[CollectionDefinition(Name)]
public sealed class DashboardTestGroup : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
