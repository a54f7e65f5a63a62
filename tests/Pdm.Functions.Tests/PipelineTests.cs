using System.Net;
using System.Net.Http.Json;
using System.Text;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// Device → Mosquitto (IoT Hub topics) → dev host (Event Hubs trigger payload) → Ingest → PostgreSQL, and the API
/// on top, all on real servers. Tests in this collection run one after another because one of them stops PostgreSQL.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class PipelineTests(PipelineFixture pipeline)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Device_telemetry_is_stored_under_the_tenant_that_owns_the_device()
    {
        var tenant = await pipeline.CreateTenantAsync("acme");
        await using var device = await pipeline.ConnectDeviceAsync(tenant, $"gw-{Guid.NewGuid():N}"[..16]);
        var start = Now();
        var samples = Samples("CNC_1", start, count: 5, ("temperature", 60), ("spindle_speed", 9000));

        await PublishAsync(device, samples);

        var readings = await WaitForReadingsAsync(tenant, "CNC_1", expected: 10, start);
        Assert.Equal(10, readings);
    }

    [Fact]
    public async Task Payload_naming_another_tenants_machine_is_stored_under_the_sending_devices_tenant()
    {
        var owner = await pipeline.CreateTenantAsync("owner");
        var intruder = await pipeline.CreateTenantAsync("intruder");
        await using var ownerDevice = await pipeline.ConnectDeviceAsync(owner, $"own-{Guid.NewGuid():N}"[..16]);
        await using var intruderDevice = await pipeline.ConnectDeviceAsync(intruder, $"int-{Guid.NewGuid():N}"[..16]);
        var start = Now();
        await PublishAsync(ownerDevice, Samples("PRESS_7", start, count: 3, ("pressure", 120)));
        Assert.Equal(3, await WaitForReadingsAsync(owner, "PRESS_7", expected: 3, start));

        // The intruder's gateway claims the owner's machine id, with other timestamps and values.
        await PublishAsync(intruderDevice, Samples("PRESS_7", start.AddSeconds(30), count: 4, ("pressure", 999)));
        Assert.Equal(4, await WaitForReadingsAsync(intruder, "PRESS_7", expected: 4, start));

        Assert.Equal(3, await CountReadingsAsync(owner, "PRESS_7", start));
        using var api = pipeline.Api(owner.Key);
        var page = await PipelineFixture.ReadAsync<ReadingsDto>(await api.GetAsync(ReadingsUrl("PRESS_7", start)));
        Assert.All(page.Readings, r => Assert.Equal(120, r.Value));
    }

    [Fact]
    public async Task Malformed_messages_are_rejected_with_their_reason_and_the_rest_of_the_batch_is_stored()
    {
        var tenant = await pipeline.CreateTenantAsync("rejects");
        await using var device = await pipeline.ConnectDeviceAsync(tenant, $"rej-{Guid.NewGuid():N}"[..16]);
        var start = Now();
        var topic = IotHubTopics.DeviceEvents(device.DeviceId);

        // Published back to back, so they travel in one Event Hubs batch.
        await device.Client.PublishAsync(new MqttMessage(topic, TelemetryEncoder.Encode(Samples("PUMP_1", start, 2, ("flow", 80)))), CancellationToken.None);
        await device.Client.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes("{\"schema\":\"pdm.telemetry.v1\",\"machines\":[")), CancellationToken.None);
        var mixed = Samples("PUMP_1", start.AddSeconds(10), 2, ("flow", 80)).ToList();
        mixed.Add(Sample("PUMP_1", start.AddSeconds(20), 99, ("temperature", 9000)));
        await device.Client.PublishAsync(new MqttMessage(topic, TelemetryEncoder.Encode(mixed)), CancellationToken.None);

        Assert.Equal(4, await WaitForReadingsAsync(tenant, "PUMP_1", expected: 4, start));
        using var api = pipeline.Api(tenant.Key);
        var rejects = await WaitForAsync(async () =>
        {
            var list = (await PipelineFixture.ReadAsync<PageDto<RejectDto>>(await api.GetAsync("api/v1/rejects"))).Items;
            return list.Count >= 2 ? list : null;
        });
        Assert.Equal(2, rejects.Count);
        Assert.Contains(rejects, r => r.Errors.Any(e => e.Reason.Contains("JSON", StringComparison.OrdinalIgnoreCase)));
        var outOfRange = Assert.Single(rejects, r => r.Errors.Any(e => e.Path.Contains("temperature", StringComparison.Ordinal)));
        Assert.Contains("9000", outOfRange.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("PUMP_1", outOfRange.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tenant_key_cannot_read_another_tenants_machines_or_readings()
    {
        var a = await pipeline.CreateTenantAsync("tenant-a");
        var b = await pipeline.CreateTenantAsync("tenant-b");
        await using var deviceB = await pipeline.ConnectDeviceAsync(b, $"b-{Guid.NewGuid():N}"[..16]);
        var start = Now();
        await PublishAsync(deviceB, Samples("SECRET_B", start, 2, ("vibration", 2)));
        Assert.Equal(2, await WaitForReadingsAsync(b, "SECRET_B", expected: 2, start));

        using var apiA = pipeline.Api(a.Key);
        var machines = (await PipelineFixture.ReadAsync<MachinePageDto>(await apiA.GetAsync("api/v1/machines"))).Items;
        Assert.DoesNotContain(machines, m => m.MachineId == "SECRET_B");
        Assert.Equal(HttpStatusCode.NotFound, (await apiA.GetAsync(ReadingsUrl("SECRET_B", start))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await apiA.GetAsync("api/v1/machines/SECRET_B")).StatusCode);
        var otherKeys = await apiA.GetAsync($"api/v1/tenants/{b.Id}/api-keys");
        Assert.Equal(HttpStatusCode.Forbidden, otherKeys.StatusCode);
        Assert.Equal("application/problem+json", otherKeys.Content.Headers.ContentType?.MediaType);
        using var anonymous = pipeline.Api(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/v1/machines")).StatusCode);
    }

    [Fact]
    public async Task A_database_outage_loses_nothing_and_stores_nothing_twice()
    {
        var tenant = await pipeline.CreateTenantAsync("outage");
        await using var device = await pipeline.ConnectDeviceAsync(tenant, $"out-{Guid.NewGuid():N}"[..16]);
        var start = Now();
        const int Before = 20, During = 40, After = 20;
        var seq = 0;
        async Task SendAsync(int count)
        {
            for (var i = 0; i < count; i++, seq++)
            {
                await PublishAsync(device, [Sample("OUTAGE_M", start.AddSeconds(seq), seq, ("temperature", 50 + (seq % 10)), ("current", 20))]);
            }
        }

        await SendAsync(Before);
        Assert.Equal(Before * 2, await WaitForReadingsAsync(tenant, "OUTAGE_M", Before * 2, start));

        await pipeline.Servers.Postgres.StopAsync(CancellationToken.None);
        var outageEnds = DateTimeOffset.UtcNow.AddMinutes(1);
        for (var i = 0; i < During / 4; i++)
        {
            await SendAsync(4);
            await Task.Delay(TimeSpan.FromSeconds(50) / (During / 4));
        }
        // Everything sent during the outage has been handed to Ingest (and parked), none of it dropped.
        await WaitForAsync(() => Task.FromResult(pipeline.Host.Stats.EventsReceived >= Before + During
            && pipeline.Host.Stats.EventsDelivered >= Before + During ? (object)true : null));
        var remaining = outageEnds - DateTimeOffset.UtcNow;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }
        await pipeline.Servers.Postgres.StartAsync(CancellationToken.None);

        await SendAsync(After);
        var replay = await pipeline.Host.InvokeTimerAsync("ReplayDeadLetters", CancellationToken.None);
        Assert.True(replay.Succeeded, replay.ToString());
        // A second replay finds nothing left and changes nothing.
        Assert.True((await pipeline.Host.InvokeTimerAsync("ReplayDeadLetters", CancellationToken.None)).Succeeded);

        var total = (Before + During + After) * 2;
        Assert.Equal(total, await WaitForReadingsAsync(tenant, "OUTAGE_M", total, start));
        Assert.Equal(0, pipeline.Host.Stats.EventsDropped);
    }

    // ---- helpers ----

    private static DateTimeOffset Now() =>
        DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).AddMinutes(-2);

    private static MachineSample Sample(string machine, DateTimeOffset at, long seq, params (string Sensor, double Value)[] values) => new()
    {
        MachineId = machine,
        Timestamp = at,
        Sequence = seq,
        Values = [.. values.Select(v => new SensorValue(v.Sensor, v.Value))],
    };

    private static IReadOnlyList<MachineSample> Samples(string machine, DateTimeOffset start, int count, params (string Sensor, double Value)[] values) =>
        [.. Enumerable.Range(0, count).Select(i => Sample(machine, start.AddSeconds(i), i, values))];

    private static Task PublishAsync(TestDevice device, IReadOnlyList<MachineSample> samples) =>
        device.Client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(device.DeviceId), TelemetryEncoder.Encode(samples)), CancellationToken.None);

    private static string ReadingsUrl(string machine, DateTimeOffset start) =>
        $"api/v1/machines/{machine}/readings?from={Uri.EscapeDataString(start.AddMinutes(-1).ToString("O"))}&to={Uri.EscapeDataString(start.AddHours(1).ToString("O"))}&limit=10000";

    private async Task<int> CountReadingsAsync(TestTenant tenant, string machine, DateTimeOffset start)
    {
        using var api = pipeline.Api(tenant.Key);
        var response = await api.GetAsync(ReadingsUrl(machine, start));
        return response.StatusCode == HttpStatusCode.NotFound
            ? 0
            : (await PipelineFixture.ReadAsync<ReadingsDto>(response)).Readings.Count;
    }

    private async Task<int> WaitForReadingsAsync(TestTenant tenant, string machine, int expected, DateTimeOffset start)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        int count;
        while ((count = await CountReadingsAsync(tenant, machine, start)) < expected && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        // Let a late duplicate show itself before the caller asserts the exact count.
        await Task.Delay(300);
        return await CountReadingsAsync(tenant, machine, start);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe) where T : class
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            Assert.True(DateTimeOffset.UtcNow < deadline, "condition not met within the time limit");
            await Task.Delay(200);
        }
    }
}

public sealed record ReadingDto(string Sensor, DateTimeOffset Ts, double Value);
public sealed record ReadingsDto(string MachineId, List<ReadingDto> Readings);
public sealed record MachineDto(string MachineId);

public sealed record MachinePageDto(List<MachineDto> Items);
public sealed record ErrorDto(string Path, string Reason);
public sealed record RejectDto(string DeviceId, List<ErrorDto> Errors, string Payload);
