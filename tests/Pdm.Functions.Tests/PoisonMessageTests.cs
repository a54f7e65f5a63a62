using System.Net;
using System.Text;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// Issue 9's probe, through the whole pipeline: one tenant's message with a NUL byte used to be parked as "Database
/// unavailable", and after a later outage every replay stopped at it, so another tenant's parked samples were never
/// stored. In the pipeline collection because it stops PostgreSQL.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class PoisonMessageTests(PipelineFixture pipeline)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly byte[] Poison = Encoding.UTF8.GetBytes("{\"temperature\":1}\0garbage");

    [Fact]
    public async Task A_poison_message_is_a_visible_reject_and_never_blocks_another_tenants_replay()
    {
        var tenantA = await pipeline.CreateTenantAsync("poison-a");
        var tenantB = await pipeline.CreateTenantAsync("poison-b");
        await using var deviceA = await pipeline.ConnectDeviceAsync(tenantA, $"pa-{Guid.NewGuid():N}"[..16]);
        await using var deviceB = await pipeline.ConnectDeviceAsync(tenantB, $"pb-{Guid.NewGuid():N}"[..16]);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).AddMinutes(-2);
        const int Before = 10, During = 40, After = 10;
        var seq = 0;
        async Task SendBAsync(int count)
        {
            for (var i = 0; i < count; i++, seq++)
            {
                var sample = new MachineSample
                {
                    MachineId = "B_PUMP", Timestamp = start.AddSeconds(seq), Sequence = seq,
                    Values = [new SensorValue("temperature", 50 + (seq % 10)), new SensorValue("current", 20)],
                };
                await deviceB.Client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(deviceB.DeviceId), TelemetryEncoder.Encode([sample])),
                    CancellationToken.None);
            }
        }

        // Tenant A's poison message travels with tenant B's readings.
        await deviceA.Client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(deviceA.DeviceId), Poison), CancellationToken.None);
        await SendBAsync(Before);
        Assert.Equal(Before * 2, await WaitForReadingsAsync(tenantB, Before * 2, start));
        var reject = Assert.Single(await WaitForRejectsAsync(tenantA, 1));
        Assert.Contains("NUL", reject.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Equal("{\"temperature\":1}\\u0000garbage", reject.Payload);
        var healthy = await HealthAsync(HttpStatusCode.OK);
        Assert.Equal(("ok", 0, 0), (healthy.Status, healthy.DeadLetters!.Parked, healthy.DeadLetters.Quarantined));

        await pipeline.Servers.Postgres.StopAsync(CancellationToken.None);
        var delivered = pipeline.Host.Stats.EventsDelivered;
        await deviceA.Client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(deviceA.DeviceId), Poison.Append((byte)'!').ToArray()),
            CancellationToken.None);
        for (var i = 0; i < During / 4; i++)
        {
            await SendBAsync(4);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        await WaitForAsync(() => Task.FromResult(pipeline.Host.Stats.EventsDelivered >= delivered + During + 1 ? (object)true : null));
        var parked = await HealthAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unavailable", parked.Database);
        Assert.InRange(parked.DeadLetters!.Parked, 1, During + 1);
        Assert.NotNull(parked.DeadLetters.OldestParkedAt);
        Assert.True(parked.DeadLetters.OldestParkedAgeSeconds > 0);
        Assert.Equal(0, parked.DeadLetters.Quarantined);
        await pipeline.Servers.Postgres.StartAsync(CancellationToken.None);

        await SendBAsync(After);
        var replay = await pipeline.Host.InvokeTimerAsync("ReplayDeadLetters", CancellationToken.None);
        Assert.True(replay.Succeeded, replay.ToString());
        Assert.True((await pipeline.Host.InvokeTimerAsync("ReplayDeadLetters", CancellationToken.None)).Succeeded);

        var total = (Before + During + After) * 2;
        Assert.Equal(total, await WaitForReadingsAsync(tenantB, total, start));
        var rejects = await WaitForRejectsAsync(tenantA, 2);
        Assert.Equal(2, rejects.Count);
        Assert.All(rejects, r => Assert.Contains("NUL", r.Errors[0].Reason, StringComparison.Ordinal));
        using (var apiB = pipeline.Api(tenantB.Key))
        {
            Assert.Empty((await PipelineFixture.ReadAsync<PageDto<RejectDto>>(await apiB.GetAsync("api/v1/rejects"))).Items);
        }
        var after = await HealthAsync(HttpStatusCode.OK);
        Assert.Equal(("ok", "ok", 0, 0, 0.0), (after.Status, after.Database, after.DeadLetters!.Parked, after.DeadLetters.Quarantined,
            after.DeadLetters.OldestParkedAgeSeconds));
        Assert.Equal(0, pipeline.Host.Stats.EventsDropped);
    }

    private async Task<HealthDto> HealthAsync(HttpStatusCode expected)
    {
        using var api = pipeline.Api(null);
        var response = await api.GetAsync("api/health");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {body}");
        return System.Text.Json.JsonSerializer.Deserialize<HealthDto>(body, Json.Web)!;
    }

    private async Task<int> WaitForReadingsAsync(TestTenant tenant, int expected, DateTimeOffset start)
    {
        using var api = pipeline.Api(tenant.Key);
        var url = $"api/v1/machines/B_PUMP/readings?from={Uri.EscapeDataString(start.AddMinutes(-1).ToString("O"))}&to={Uri.EscapeDataString(start.AddHours(1).ToString("O"))}&limit=10000";
        async Task<int> CountAsync()
        {
            var response = await api.GetAsync(url);
            return response.StatusCode == HttpStatusCode.NotFound ? 0 : (await PipelineFixture.ReadAsync<ReadingsDto>(response)).Readings.Count;
        }
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (await CountAsync() < expected && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        // Let a late duplicate show itself before the caller asserts the exact count.
        await Task.Delay(300);
        return await CountAsync();
    }

    private async Task<List<RejectDto>> WaitForRejectsAsync(TestTenant tenant, int count)
    {
        using var api = pipeline.Api(tenant.Key);
        return await WaitForAsync(async () =>
        {
            var list = (await PipelineFixture.ReadAsync<PageDto<RejectDto>>(await api.GetAsync("api/v1/rejects"))).Items;
            return list.Count >= count ? list : null;
        });
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

public sealed record DeadLettersDto(int Parked, DateTimeOffset? OldestParkedAt, double OldestParkedAgeSeconds, int Quarantined,
    DateTimeOffset? OldestQuarantinedAt);
public sealed record HealthDto(string Status, string Database, DeadLettersDto? DeadLetters);
