using System.Collections.Concurrent;
using System.Text;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.LocalStack.Tests;

/// <summary>What a registered device must not be able to do to other sessions on the local IoT Hub stand-in.</summary>
[Collection(SharedMosquitto.Name)]
[Trait("Category", "Integration")]
public sealed class MosquittoBrokerAbuseTests(MosquittoFixture fixture)
{
    [Fact]
    public async Task A_device_sending_another_devices_client_id_is_bound_to_its_own_id_and_leaves_the_other_connected()
    {
        var registry = fixture.Registry();
        var victim = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("victim"), CancellationToken.None);
        var impostor = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("impostor"), CancellationToken.None);
        await using var service = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("watch"));
        await service.SubscribeAsync(IotHubTopics.AllDeviceEvents, 1, CancellationToken.None);
        var victimStates = new ConcurrentQueue<MqttConnectionState>();
        await using var victimClient = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(victim) with { ConnectionChanged = victimStates.Enqueue });

        await using var impostorClient = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(impostor) with { ClientId = victim.DeviceId });
        await impostorClient.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(impostor.DeviceId), "impostor"u8.ToArray()), CancellationToken.None);
        await victimClient.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(victim.DeviceId), "victim"u8.ToArray()), CancellationToken.None);

        var received = new[] { await service.NextAsync(), await service.NextAsync() };
        Assert.Equal(
            [(IotHubTopics.DeviceEvents(impostor.DeviceId), "impostor"), (IotHubTopics.DeviceEvents(victim.DeviceId), "victim")],
            received.Select(m => (m.Topic, Encoding.UTF8.GetString(m.Payload.Span))).Order());
        Assert.Equal([MqttConnectionStatus.Connected], victimStates.Select(s => s.Status));
        Assert.True(victimClient.IsConnected);
    }

    [Fact]
    public async Task A_device_sending_a_platform_client_id_cannot_disconnect_the_platforms_session()
    {
        var device = await fixture.Registry().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("hijack"), CancellationToken.None);
        var platformStates = new ConcurrentQueue<MqttConnectionState>();
        var platformOptions = fixture.ServiceOptions("devhost") with { ConnectionChanged = platformStates.Enqueue };
        await using var platform = await MqttTestExtensions.ConnectedAsync(platformOptions);
        await platform.SubscribeAsync(IotHubTopics.DeviceEvents(device.DeviceId), 1, CancellationToken.None);

        for (var attempt = 0; attempt < 3; attempt++)
        {
            await using var hijacker = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device) with { ClientId = platformOptions.ClientId });
            await hijacker.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(device.DeviceId), Encoding.UTF8.GetBytes($"try {attempt}")), CancellationToken.None);
            Assert.Equal($"try {attempt}", Encoding.UTF8.GetString((await platform.NextAsync()).Payload.Span));
        }

        Assert.Equal([MqttConnectionStatus.Connected], platformStates.Select(s => s.Status));
        Assert.True(platform.IsConnected);
    }

    [Fact]
    public async Task A_message_of_256_KB_is_delivered_and_a_bigger_one_disconnects_its_sender_and_is_not_delivered()
    {
        var device = await fixture.Registry().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("big"), CancellationToken.None);
        await using var service = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("big-sub"));
        var topic = IotHubTopics.DeviceEvents(device.DeviceId);
        await service.SubscribeAsync(topic, 1, CancellationToken.None);
        var states = new ConcurrentQueue<MqttConnectionState>();
        await using var client = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device) with { ConnectionChanged = states.Enqueue });

        await client.PublishAsync(new MqttMessage(topic, new byte[MosquittoBroker.MaxMessageBytes]), CancellationToken.None);
        Assert.Equal(MosquittoBroker.MaxMessageBytes, (await service.NextAsync()).Payload.Length);

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var tooBig = client.PublishAsync(new MqttMessage(topic, new byte[MosquittoBroker.MaxMessageBytes + 1024]), wait.Token);
        await MqttTestExtensions.UntilAsync(() => states.Any(s => s.Status == MqttConnectionStatus.Disconnected), "the broker disconnects the sender");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tooBig);
        await client.DisposeAsync();

        // The service session sees the next message, not the oversized one.
        var other = await fixture.Registry().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("big-next"), CancellationToken.None);
        await using var next = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(other));
        await service.SubscribeAsync(IotHubTopics.DeviceEvents(other.DeviceId), 1, CancellationToken.None);
        await next.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(other.DeviceId), "small"u8.ToArray()), CancellationToken.None);
        Assert.Equal("small", Encoding.UTF8.GetString((await service.NextAsync()).Payload.Span));
        Assert.False(service.Messages.TryRead(out var extra), $"unexpected message of {extra?.Payload.Length} bytes");
    }
}
