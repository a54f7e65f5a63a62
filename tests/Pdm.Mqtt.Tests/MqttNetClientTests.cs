using System.Text;
using Pdm.LocalStack;
using Pdm.Mqtt;

namespace Pdm.Mqtt.Tests;

[Collection(SharedMosquitto.Name)]
[Trait("Category", "Integration")]
public sealed class MqttNetClientTests(MosquittoFixture fixture)
{
    [Fact]
    public async Task Qos1_publish_reaches_a_subscriber_with_topic_payload_and_qos()
    {
        await using var subscriber = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("sub"));
        await using var publisher = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("pub"));
        var topic = $"devices/{MosquittoFixture.UniqueDeviceId("rt")}/messages/events/";
        await subscriber.SubscribeAsync(topic, 1, CancellationToken.None);

        await publisher.PublishAsync(new MqttMessage(topic, "{\"t\":21.5}"u8.ToArray()), CancellationToken.None);

        var received = await subscriber.NextAsync();
        Assert.Equal(topic, received.Topic);
        Assert.Equal("{\"t\":21.5}", Encoding.UTF8.GetString(received.Payload.Span));
        Assert.Equal(1, received.Qos);
        Assert.True(publisher.IsConnected);
    }

    [Fact]
    public async Task Wrong_password_is_refused_with_the_connack_reason()
    {
        var options = fixture.ServiceOptions("bad") with { Password = "wrong" };
        await using var client = MqttNetClient.Create(options);

        var error = await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.Equal(5, error.ResultCode);
        Assert.Contains("not authorised", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Refused_connack_is_reported_as_refused_with_the_brokers_reason_not_as_a_lost_connection()
    {
        var states = new List<MqttConnectionState>();
        await using var client = MqttNetClient.Create(fixture.ServiceOptions("refused") with { Password = "wrong", ConnectionChanged = states.Add });

        await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));

        var refused = states[0];
        Assert.Equal(MqttConnectionStatus.Refused, refused.Status);
        Assert.Contains("refused the connection: Connection Refused: not authorised.", refused.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(states.Skip(1), s => s.Status != MqttConnectionStatus.Disconnected || s.Reason != "disconnected by this client");
    }

    [Fact]
    public async Task Persistent_session_gets_the_qos1_messages_sent_while_it_was_away_without_subscribing_again()
    {
        var topic = $"devices/{MosquittoFixture.UniqueDeviceId("away")}/messages/events/";
        var options = fixture.ServiceOptions("persistent") with { CleanSession = false };
        await using (var first = await MqttTestExtensions.ConnectedAsync(options))
        {
            await first.SubscribeAsync(topic, 1, CancellationToken.None);
            await first.DisconnectAsync(CancellationToken.None);
        }
        await using var publisher = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("away-pub"));
        await publisher.PublishAsync(new MqttMessage(topic, "while away"u8.ToArray()), CancellationToken.None);

        // Same client id, a new client object that knows of no subscription: the broker kept the session.
        await using var again = await MqttTestExtensions.ConnectedAsync(options);

        var received = await again.NextAsync();
        Assert.Equal("while away", Encoding.UTF8.GetString(received.Payload.Span));
    }

    [Fact]
    public async Task Publish_before_connect_fails_clearly()
    {
        await using var client = MqttNetClient.Create(fixture.ServiceOptions("idle"));

        var error = await Assert.ThrowsAsync<MqttException>(() =>
            client.PublishAsync(new MqttMessage("devices/x/messages/events/", new byte[] { 1 }), CancellationToken.None));

        Assert.Contains("ConnectAsync", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("devices/a+", "'+' must be a whole level")]
    [InlineData("devices/#/x", "'#' must be a whole level and the last one")]
    public async Task Invalid_subscription_filter_fails_without_reaching_the_broker(string filter, string problem)
    {
        var states = new List<MqttConnectionStatus>();
        await using var client = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("filter") with { ConnectionChanged = s => states.Add(s.Status) });

        var error = await Assert.ThrowsAsync<MqttException>(() => client.SubscribeAsync(filter, 1, CancellationToken.None));

        Assert.Equal($"Subscribe to '{filter}' failed: {problem}.", error.Message);
        Assert.True(client.IsConnected);
        Assert.Equal([MqttConnectionStatus.Connected], states);
    }

    [Fact]
    public async Task Thousand_qos1_publishes_in_flight_all_complete_and_arrive()
    {
        const int Count = 1000;
        await using var subscriber = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("load-sub"));
        await using var publisher = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("load-pub"));
        var topic = $"devices/{MosquittoFixture.UniqueDeviceId("load")}/messages/events/";
        await subscriber.SubscribeAsync(topic, 1, CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var publishes = Enumerable.Range(0, Count)
            .Select(i => Task.Run(() => publisher.PublishAsync(new MqttMessage(topic, BitConverter.GetBytes(i)), timeout.Token)))
            .ToArray();
        await Task.WhenAll(publishes);

        var seen = new HashSet<int>();
        while (seen.Count < Count)
        {
            var message = await subscriber.NextAsync();
            seen.Add(BitConverter.ToInt32(message.Payload.Span));
        }
        Assert.Equal(Enumerable.Range(0, Count), seen.Order());
    }

    [Fact]
    public async Task Client_reconnects_after_broker_restart_resubscribes_and_delivers_waiting_publish()
    {
        var state = Path.Combine(Path.GetTempPath(), $"pdm-mosquitto-{Guid.NewGuid():N}"[..28]);
        await using var broker = new MosquittoBroker(state, FreePort.Pick());
        try
        {
            await broker.StartAsync(CancellationToken.None);
            var passwordRequests = 0;
            var options = MosquittoFixture.ServiceOptionsFor(broker, "re") with
            {
                Password = null,
                PasswordProvider = _ =>
                {
                    Interlocked.Increment(ref passwordRequests);
                    return ValueTask.FromResult(broker.ServicePassword);
                },
            };
            // One client subscribes and publishes, so its own message shows that the subscription came back.
            await using var client = await MqttTestExtensions.ConnectedAsync(options);
            const string Topic = "devices/re-1/messages/events/";
            await client.SubscribeAsync(Topic, 1, CancellationToken.None);

            await broker.StopAsync(CancellationToken.None);
            await MqttTestExtensions.UntilAsync(() => !client.IsConnected, "the client notices the broker is gone");

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var waiting = client.PublishAsync(new MqttMessage(Topic, "after restart"u8.ToArray()), timeout.Token);
            Assert.False(waiting.IsCompleted);

            await broker.StartAsync(CancellationToken.None);
            await waiting;

            var received = await client.NextAsync();
            Assert.Equal("after restart", Encoding.UTF8.GetString(received.Payload.Span));
            Assert.True(client.IsConnected);
            Assert.True(passwordRequests >= 2, $"the password provider ran {passwordRequests} time(s); expected once per connect");
        }
        finally
        {
            await broker.StopAsync(CancellationToken.None);
            Directory.Delete(state, recursive: true);
        }
    }
}
