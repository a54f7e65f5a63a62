using System.Text;
using Pdm.Edge.Sources;
using Pdm.LocalStack;
using Pdm.Mqtt;
using Pdm.Testing;

namespace Pdm.Edge.Tests.Sources;

[CollectionDefinition(Name)]
public sealed class PlantBroker : ICollectionFixture<MosquittoFixture>
{
    public const string Name = "Edge plant broker";
}

[Collection(PlantBroker.Name)]
[Trait("Category", "Integration")]
public sealed class MqttSourceTests(MosquittoFixture fixture) : IAsyncLifetime
{
    // The broker's service account may use devices/#; a unique level keeps tests apart.
    private readonly string _plant = $"devices/plant-{Guid.NewGuid():N}"[..30];
    private readonly RecordingSink _sink = new();
    private readonly CancellationTokenSource _stop = new();
    private IMqttClient? _publisher;

    public async Task InitializeAsync()
    {
        _publisher = MqttNetClient.Create(new MqttOptions
        {
            Host = "127.0.0.1",
            Port = fixture.Broker.ServicePort,
            ClientId = $"pdm-publisher-{Guid.NewGuid():N}",
            Username = fixture.Broker.ServiceUser,
            Password = fixture.Broker.ServicePassword,
        });
        using var timeout = new CancellationTokenSource(RecordingSink.Timeout);
        await _publisher.ConnectAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
        if (_publisher is not null)
        {
            await _publisher.DisposeAsync();
        }
    }

    [Fact]
    public async Task Messages_on_wildcard_topics_become_readings_and_a_bad_payload_is_counted_and_skipped()
    {
        var source = Source(fixture.Broker.ServicePort, fixture.Broker.ServicePassword);
        var run = source.RunAsync(_sink, _stop.Token);
        await RecordingSink.UntilAsync(() => source.Status.State == SourceState.Connected, "the source is connected");

        await PublishAsync($"{_plant}/PRESS_7/telemetry", """{ "ts": "2026-11-21T08:15:00Z", "temp": 71.6, "vib": { "rms": 2.5 } }""");
        await PublishAsync($"{_plant}/PRESS_8/telemetry", """{ "ts": "2026-11-21T08:15:01Z", "temp": 71.6, "vib": """);
        await PublishAsync($"{_plant}/PRESS_8/telemetry", """{ "ts": "2026-11-21T08:15:02Z", "temp": "hot" }""");
        await PublishAsync($"{_plant}/utilities/compressor/1", """{ "outlet pressure": 14.503774 }""");
        var press = await _sink.NextAsync();
        var compressor = await _sink.NextAsync();

        Assert.Equal("PRESS_7", press.MachineId);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, TimeSpan.Zero), press.Timestamp);
        Assert.Equal(["temperature", "vibration"], press.Values.Select(v => v.Sensor));
        Assert.Equal(22, press.Values[0].Value, 9);
        Assert.Equal(2.5, press.Values[1].Value);
        Assert.Equal("COMPRESSOR_1", compressor.MachineId);
        Assert.Equal(1, Assert.Single(compressor.Values).Value, 5);

        var status = source.Status;
        Assert.Equal(SourceState.Connected, status.State);
        Assert.Equal(2, status.Reads);
        Assert.Equal(2, status.Errors);
        Assert.Equal($"topic '{_plant}/PRESS_8/telemetry': temperature: $.temp is the string \"hot\", not a number", status.LastError);
        Assert.NotNull(status.LastRead);

        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
        Assert.Equal(SourceState.Stopped, source.Status.State);
    }

    [Fact]
    public async Task Topic_level_that_is_no_machine_id_is_counted_with_the_topic()
    {
        var source = Source(fixture.Broker.ServicePort, fixture.Broker.ServicePassword);
        var run = source.RunAsync(_sink, _stop.Token);
        await RecordingSink.UntilAsync(() => source.Status.State == SourceState.Connected, "the source is connected");

        await PublishAsync($"{_plant}/PRESS 9/telemetry", """{ "ts": "2026-11-21T08:15:03Z", "temp": 70 }""");
        await PublishAsync($"{_plant}/PRESS_9/telemetry", """{ "ts": "2026-11-21T08:15:03Z", "temp": 70 }""");
        var reading = await _sink.NextAsync();

        Assert.Equal("PRESS_9", reading.MachineId);
        Assert.Equal(1, source.Status.Errors);
        Assert.StartsWith($"topic '{_plant}/PRESS 9/telemetry': topic '{_plant}/PRESS 9/telemetry' gives machine id 'PRESS 9'",
            source.Status.LastError, StringComparison.Ordinal);
        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
    }

    [Fact]
    public async Task Refused_login_makes_the_source_failing_with_the_broker_reason()
    {
        var source = Source(fixture.Broker.ServicePort, "wrong-password");
        var run = source.RunAsync(_sink, _stop.Token);

        await RecordingSink.UntilAsync(() => source.Status.Errors >= 1, "the refused login is counted");

        Assert.Equal(SourceState.Failing, source.Status.State);
        Assert.Contains($"broker 127.0.0.1:{fixture.Broker.ServicePort}", source.Status.LastError, StringComparison.Ordinal);
        Assert.Contains("not authorised", source.Status.LastError, StringComparison.OrdinalIgnoreCase);
        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
        Assert.Equal(SourceState.Stopped, source.Status.State);
    }

    private MqttSource Source(int port, string password)
    {
        var configuration = RecordingSink.Configuration($$"""
            {
              "schemaVersion": 1,
              "gatewayId": "plant-a-gw1",
              "mqtt": [
                {
                  "name": "plant-broker",
                  "broker": { "host": "127.0.0.1", "port": {{port}}, "username": "{{fixture.Broker.ServiceUser}}", "password": "{{password}}" },
                  "clientId": "edge-{{Guid.NewGuid():N}}",
                  "subscriptions": [
                    {
                      "topic": "{{_plant}}/+/telemetry",
                      "machineId": "{3}",
                      "timestampPath": "$.ts",
                      "sensors": { "temperature": { "path": "$.temp", "unit": "degF" }, "vibration": "$.vib.rms" }
                    },
                    {
                      "topic": "{{_plant}}/utilities/#",
                      "machineId": "COMPRESSOR_1",
                      "sensors": { "pressure": { "path": "$['outlet pressure']", "unit": "psi" } }
                    }
                  ]
                }
              ]
            }
            """);
        return new MqttSource(configuration.Mqtt[0]);
    }

    private async Task PublishAsync(string topic, string payload)
    {
        using var timeout = new CancellationTokenSource(RecordingSink.Timeout);
        await _publisher!.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes(payload)), timeout.Token);
    }
}
