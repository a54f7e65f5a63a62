using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Mqtt;
using Pdm.Storage;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>
/// The whole local pipeline, as the demo runs it: the stack, a migrated database, the real function app under the
/// dev host (subscribed to Mosquitto with IoT Hub's topic layout), and a platform-admin key for the API.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    /// <summary>The dev host's session on the broker's platform listener; in the pdm- namespace no device can register.</summary>
    public const string DevHostClientId = "pdm-devhost-tests";

    private readonly StackFixture _stack = new();

    public StackEndpoints Endpoints => _stack.Endpoints;
    public LocalServers Servers => _stack.Stack;
    public LocalDatabase Database { get; private set; } = null!;
    public FunctionsDevHost Host { get; private set; } = null!;
    public string PlatformAdminKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        Database = await _stack.CreateDatabaseAsync();
        var admin = PdmStores.Create(Database.AppConnectionString);
        (_, PlatformAdminKey) = await admin.ApiKeys.CreateApiKeyAsync(null, "tests", ApiKeyRole.PlatformAdmin, CancellationToken.None);

        Host = await FunctionsDevHost.StartAsync(new DevHostOptions
        {
            FunctionAppDirectory = RepoPaths.FunctionApp,
            Environment = new Dictionary<string, string>(LocalEnvironment.FunctionAppSettings(Endpoints, Database))
            {
                // Replays are fired by the tests that need them, not by the clock.
                ["DEADLETTER_REPLAY_SCHEDULE"] = "0 0 0 1 1 *",
                // Every test here calls from loopback, so they would share one address's limits, and the isolation
                // tests fail authentication on purpose. The limits have their own tests (ApiRegressionTests).
                ["Pdm__Api__FailedAuthPerAddress"] = "100000",
                ["Pdm__Api__RequestsPerAddress"] = "1000000",
                ["Pdm__Api__RequestsPerKey"] = "1000000",
                ["PREDICT_SCHEDULE"] = "0 0 0 1 1 *",
                ["ALERT_TICK_SCHEDULE"] = "0 0 0 1 1 *",
                // The delivery tests' receiver runs on this machine, over http.
                ["Pdm__Webhooks__AllowHttp"] = "true",
                ["Pdm__Webhooks__AllowLoopback"] = "true",
            },
            Mqtt = new MqttOptions
            {
                Host = "127.0.0.1",
                Port = Endpoints.MqttServicePort,
                ClientId = DevHostClientId,
                // A persistent session, so messages the broker accepted survive a broker restart (as in IoT Hub).
                CleanSession = false,
                // Back soon after a broker restart, so outage tests do not wait out a long backoff.
                ReconnectMaxDelay = TimeSpan.FromSeconds(2),
                Username = Endpoints.MqttServiceUser,
                Password = Endpoints.MqttServicePassword,
            },
        }, NullLoggerFactory.Instance, CancellationToken.None);
    }

    public HttpClient Api(string? key)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>A new tenant with a tenant-admin key, created through the API.</summary>
    public async Task<TestTenant> CreateTenantAsync(string name)
    {
        using var admin = Api(PlatformAdminKey);
        var tenant = await ReadAsync<TenantDto>(await admin.PostAsJsonAsync("api/v1/tenants", new { name = $"{name}-{Guid.NewGuid():N}"[..30] }));
        var key = await ReadAsync<KeyDto>(await admin.PostAsJsonAsync($"api/v1/tenants/{tenant.Id}/api-keys", new { name = "tests", role = "admin" }));
        return new TestTenant(tenant.Id, key.Key);
    }

    /// <summary>Registers a device through the API and connects it to the broker with the credentials it got.</summary>
    public async Task<TestDevice> ConnectDeviceAsync(TestTenant tenant, string deviceId)
    {
        using var api = Api(tenant.Key);
        var device = await ReadAsync<DeviceDto>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId }));
        var client = new MqttNetClient(new MqttOptions
        {
            Host = "127.0.0.1",
            Port = Endpoints.MqttPort,
            ClientId = deviceId,
            Username = deviceId,
            Password = device.PrimaryKey,
        });
        await client.ConnectAsync(CancellationToken.None);
        return new TestDevice(deviceId, client);
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return System.Text.Json.JsonSerializer.Deserialize<T>(body, Json.Web)!;
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        await _stack.DisposeAsync();
    }
}

public sealed record TestTenant(Guid Id, string Key);

/// <summary>A registered device with its own broker session, publishing on its IoT Hub topic.</summary>
public sealed record TestDevice(string DeviceId, IMqttClient Client) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
public sealed record TenantDto(Guid Id, string Name);
public sealed record KeyDto(Guid Id, string Key);
public sealed record DeviceDto(string DeviceId, string PrimaryKey);

/// <summary>One page of a list as the API pages it.</summary>
public sealed record PageDto<T>(List<T> Items, string? Next, string? NextLink);

internal static class Json
{
    public static readonly System.Text.Json.JsonSerializerOptions Web = new(System.Text.Json.JsonSerializerDefaults.Web);
}

[CollectionDefinition(Name)]
public sealed class PipelineTestGroup : ICollectionFixture<PipelineFixture>
{
    public const string Name = "pipeline";
}
