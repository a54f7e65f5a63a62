using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>Devices, telemetry and waits shared by the hardening tests that run on the pipeline.</summary>
internal static class PipelineTraffic
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static DateTimeOffset Now() =>
        DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).AddMinutes(-2);

    public static string NewDeviceId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..16];

    public static byte[] Telemetry(string machine, DateTimeOffset at, long seq, double temperature, string? gateway = null) =>
        TelemetryEncoder.Encode([new MachineSample
        {
            MachineId = machine,
            Timestamp = at,
            Sequence = seq,
            Values = [new SensorValue("temperature", temperature)],
        }], gateway);

    /// <summary>Registers a device through the API; the caller connects it with the options it wants.</summary>
    public static async Task<(string DeviceId, string Key)> RegisterAsync(this PipelineFixture pipeline, TestTenant tenant, string deviceId)
    {
        using var api = pipeline.Api(tenant.Key);
        var device = await PipelineFixture.ReadAsync<DeviceDto>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId }));
        return (device.DeviceId, device.PrimaryKey);
    }

    public static MqttOptions DeviceOptions(this PipelineFixture pipeline, string deviceId, string key, ConcurrentQueue<MqttConnectionState>? states = null) => new()
    {
        Host = "127.0.0.1",
        Port = pipeline.Endpoints.MqttPort,
        ClientId = deviceId,
        Username = deviceId,
        Password = key,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        ConnectionChanged = states is null ? null : states.Enqueue,
    };

    public static async Task<IMqttClient> ConnectAsync(MqttOptions options)
    {
        var client = MqttNetClient.Create(options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(timeout.Token);
        return client;
    }

    public static Task PublishAsync(this IMqttClient client, string deviceId, byte[] payload) =>
        client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(deviceId), payload), CancellationToken.None);

    public static async Task<int> CountReadingsAsync(this PipelineFixture pipeline, TestTenant tenant, string machine, DateTimeOffset start)
    {
        using var api = pipeline.Api(tenant.Key);
        var url = $"api/v1/machines/{machine}/readings?from={Uri.EscapeDataString(start.AddMinutes(-1).ToString("O"))}" +
                  $"&to={Uri.EscapeDataString(start.AddHours(1).ToString("O"))}&limit=10000";
        var response = await api.GetAsync(url);
        return response.StatusCode == HttpStatusCode.NotFound ? 0 : (await PipelineFixture.ReadAsync<ReadingsDto>(response)).Readings.Count;
    }

    /// <summary>Waits until <paramref name="expected"/> readings are there, then a little longer so a duplicate would show.</summary>
    public static async Task<int> WaitForReadingsAsync(this PipelineFixture pipeline, TestTenant tenant, string machine, int expected, DateTimeOffset start)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (await pipeline.CountReadingsAsync(tenant, machine, start) < expected && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        await Task.Delay(300);
        return await pipeline.CountReadingsAsync(tenant, machine, start);
    }

    public static async Task<List<RejectDto>> RejectsAsync(this PipelineFixture pipeline, TestTenant tenant)
    {
        using var api = pipeline.Api(tenant.Key);
        return (await PipelineFixture.ReadAsync<PageDto<RejectDto>>(await api.GetAsync("api/v1/rejects"))).Items;
    }

    /// <summary>The dev host's broker session is up and has not dropped since <paramref name="lossesBefore"/> was read.</summary>
    public static void AssertDevHostStillConnected(this PipelineFixture pipeline, long lossesBefore)
    {
        var stats = pipeline.Host.Stats;
        Assert.Equal(MqttConnectionStatus.Connected, stats.Broker?.Status);
        Assert.Equal(lossesBefore, stats.BrokerConnectionLosses);
    }
}
