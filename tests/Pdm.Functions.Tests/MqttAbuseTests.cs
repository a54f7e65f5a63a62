using System.Collections.Concurrent;
using Pdm.LocalStack;
using Pdm.Mqtt;

namespace Pdm.Functions.Tests;

/// <summary>
/// What one tenant's device can try on the local IoT Hub stand-in, and what must hold for everyone else: the dev
/// host stays connected and every other tenant's message is stored exactly once.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class MqttAbuseTests(PipelineFixture pipeline)
{
    [Fact]
    public async Task A_device_publishing_on_another_devices_topic_is_not_delivered()
    {
        var owner = await pipeline.CreateTenantAsync("topic-owner");
        var intruder = await pipeline.CreateTenantAsync("topic-intruder");
        var (ownerId, _) = await pipeline.RegisterAsync(owner, PipelineTraffic.NewDeviceId("own"));
        var (intruderId, intruderKey) = await pipeline.RegisterAsync(intruder, PipelineTraffic.NewDeviceId("int"));
        await using var device = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(intruderId, intruderKey));
        var start = PipelineTraffic.Now();

        await device.PublishAsync(ownerId, PipelineTraffic.Telemetry("SPOOFED_M", start, 1, 99));
        // Sent after the spoof on the same connection: once it is stored, the spoof would have been too.
        await device.PublishAsync(intruderId, PipelineTraffic.Telemetry("OWN_M", start, 1, 20));

        Assert.Equal(1, await pipeline.WaitForReadingsAsync(intruder, "OWN_M", 1, start));
        Assert.Equal(0, await pipeline.CountReadingsAsync(owner, "SPOOFED_M", start));
        Assert.Equal(0, await pipeline.CountReadingsAsync(intruder, "SPOOFED_M", start));
    }

    [Fact]
    public async Task A_device_claiming_the_dev_hosts_or_another_devices_client_id_takes_no_session_over()
    {
        var lossesBefore = pipeline.Host.Stats.BrokerConnectionLosses;
        var victim = await pipeline.CreateTenantAsync("victim");
        var attacker = await pipeline.CreateTenantAsync("attacker");
        var (victimId, victimKey) = await pipeline.RegisterAsync(victim, PipelineTraffic.NewDeviceId("vic"));
        var (attackerId, attackerKey) = await pipeline.RegisterAsync(attacker, PipelineTraffic.NewDeviceId("att"));
        var victimStates = new ConcurrentQueue<MqttConnectionState>();
        await using var victimDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(victimId, victimKey, victimStates));
        var start = PipelineTraffic.Now();
        const int Samples = 32;

        var sending = Task.Run(async () =>
        {
            for (var seq = 0; seq < Samples; seq++)
            {
                await victimDevice.PublishAsync(victimId, PipelineTraffic.Telemetry("VICTIM_M", start.AddSeconds(seq), seq, 50 + seq % 7));
                await Task.Delay(50);
            }
        });
        foreach (var stolenId in (string[])[PipelineFixture.DevHostClientId, victimId, PipelineFixture.DevHostClientId, victimId])
        {
            await using var attackerDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(attackerId, attackerKey) with { ClientId = stolenId });
            await attackerDevice.PublishAsync(attackerId, PipelineTraffic.Telemetry("ATTACKER_M", start, 1, 1));
        }
        await sending;

        Assert.Equal(Samples, await pipeline.WaitForReadingsAsync(victim, "VICTIM_M", Samples, start));
        Assert.Equal(1, await pipeline.WaitForReadingsAsync(attacker, "ATTACKER_M", 1, start));
        Assert.Equal([MqttConnectionStatus.Connected], victimStates.Select(s => s.Status));
        pipeline.AssertDevHostStillConnected(lossesBefore);
    }

    [Fact]
    public async Task A_message_over_256_KB_is_refused_by_the_broker_and_other_tenants_data_is_stored()
    {
        var lossesBefore = pipeline.Host.Stats.BrokerConnectionLosses;
        var big = await pipeline.CreateTenantAsync("big");
        var other = await pipeline.CreateTenantAsync("normal");
        var (bigId, bigKey) = await pipeline.RegisterAsync(big, PipelineTraffic.NewDeviceId("big"));
        var (otherId, otherKey) = await pipeline.RegisterAsync(other, PipelineTraffic.NewDeviceId("nrm"));
        var bigStates = new ConcurrentQueue<MqttConnectionState>();
        var start = PipelineTraffic.Now();
        // Valid JSON telemetry padded past the limit with an ignored property.
        var padded = System.Text.Encoding.UTF8.GetBytes(
            $$"""{"padding":"{{new string('x', MosquittoBroker.MaxMessageBytes + 1024)}}",""" +
            System.Text.Encoding.UTF8.GetString(PipelineTraffic.Telemetry("BIG_M", start, 1, 10))[1..]);

        await using (var bigDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(bigId, bigKey, bigStates)))
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var publish = bigDevice.PublishAsync(new MqttMessage(Pdm.IotHub.IotHubTopics.DeviceEvents(bigId), padded), wait.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publish);
            Assert.Contains(bigStates, s => s.Status == MqttConnectionStatus.Disconnected);
        }
        await using var otherDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(otherId, otherKey));
        await otherDevice.PublishAsync(otherId, PipelineTraffic.Telemetry("NORMAL_M", start, 1, 20));

        Assert.Equal(1, await pipeline.WaitForReadingsAsync(other, "NORMAL_M", 1, start));
        Assert.Equal(0, await pipeline.CountReadingsAsync(big, "BIG_M", start));
        Assert.Empty(await pipeline.RejectsAsync(big));
        pipeline.AssertDevHostStillConnected(lossesBefore);
    }

    [Fact]
    public async Task A_binary_payload_does_not_stop_the_dev_host_and_other_data_is_stored()
    {
        var lossesBefore = pipeline.Host.Stats.BrokerConnectionLosses;
        // Storing the reject itself is Ingest's part; here: nothing stops the host or the other tenant.
        var binary = await pipeline.CreateTenantAsync("binary");
        var other = await pipeline.CreateTenantAsync("text");
        var (binaryId, binaryKey) = await pipeline.RegisterAsync(binary, PipelineTraffic.NewDeviceId("bin"));
        var (otherId, otherKey) = await pipeline.RegisterAsync(other, PipelineTraffic.NewDeviceId("txt"));
        await using var binaryDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(binaryId, binaryKey));
        await using var otherDevice = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(otherId, otherKey));
        var start = PipelineTraffic.Now();

        await binaryDevice.PublishAsync(binaryId, [0xFF, 0xFE, 0x00, 0xC3, 0x28, 0xA0, 0xA1, 0x7B]);
        await otherDevice.PublishAsync(otherId, PipelineTraffic.Telemetry("TEXT_M", start, 1, 20));

        Assert.Equal(1, await pipeline.WaitForReadingsAsync(other, "TEXT_M", 1, start));
        pipeline.AssertDevHostStillConnected(lossesBefore);
    }

    [Fact]
    public async Task A_payload_naming_another_tenants_device_is_stored_under_the_senders_tenant_only()
    {
        var owner = await pipeline.CreateTenantAsync("claimed");
        var claimer = await pipeline.CreateTenantAsync("claimer");
        var (ownerId, _) = await pipeline.RegisterAsync(owner, PipelineTraffic.NewDeviceId("cld"));
        var (claimerId, claimerKey) = await pipeline.RegisterAsync(claimer, PipelineTraffic.NewDeviceId("clm"));
        await using var device = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(claimerId, claimerKey));
        var start = PipelineTraffic.Now();

        // The body names the other tenant's device as its gateway and carries a deviceId property too.
        var body = System.Text.Encoding.UTF8.GetString(PipelineTraffic.Telemetry("CLAIMED_M", start, 1, 33, gateway: ownerId));
        await device.PublishAsync(claimerId, System.Text.Encoding.UTF8.GetBytes($$"""{"deviceId":"{{ownerId}}",""" + body[1..]));

        Assert.Equal(1, await pipeline.WaitForReadingsAsync(claimer, "CLAIMED_M", 1, start));
        Assert.Equal(0, await pipeline.CountReadingsAsync(owner, "CLAIMED_M", start));
    }
}
