using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.DevHost.Tests;

/// <summary>Device telemetry published to a real Mosquitto with IoT Hub's topic layout reaches the function through the dev host.</summary>
[Trait("Category", "Integration")]
public sealed class MqttEndToEndTests : IAsyncLifetime
{
    private readonly TestFunctionApp _app = new();
    private MosquittoBroker? _broker;

    public async Task InitializeAsync()
    {
        _broker = new MosquittoBroker(Path.Combine(_app.Directory, "mosquitto"), FreePort.Pick());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _broker.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        _app.Dispose();
    }

    private MqttOptions ServiceSession(string clientId) => new()
    {
        Host = "127.0.0.1",
        Port = _broker!.ServicePort,
        ClientId = MosquittoBroker.PlatformClientId(clientId),
        Username = _broker.ServiceUser,
        Password = _broker.ServicePassword,
    };

    [Fact]
    public async Task Telemetry_published_over_mqtt_arrives_as_an_event_hubs_batch_with_iot_hub_properties()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Ingest", """
            { "bindings": [ { "type": "eventHubTrigger", "direction": "in", "name": "events", "eventHubName": "hub",
                              "consumerGroup": "ingest", "cardinality": "many", "dataType": "string" } ] }
            """);
        await using var host = await FunctionsDevHost.StartAsync(
            _app.Options() with { Mqtt = ServiceSession($"devhost-{Guid.NewGuid():N}") }, NullLoggerFactory.Instance, timeout.Token);

        await using var device = MqttNetClient.Create(ServiceSession($"device-{Guid.NewGuid():N}"));
        await device.ConnectAsync(timeout.Token);
        var topic = IotHubTopics.ModuleEvents("edge-7", "modbus", new Dictionary<string, string>
        {
            [IotHubSystemProperties.MessageId] = "m-1",
            [IotHubSystemProperties.ContentType] = "application/json",
            ["alarm"] = "high",
        });
        await device.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes("""{"t":21.5}""")), timeout.Token);

        var records = await _app.WaitForAsync(r => r.Any(x => (string?)x["Function"] == "Ingest"));
        var payload = records.Single(x => (string?)x["Function"] == "Ingest")["Payload"]!;
        Assert.Equal("""{"t":21.5}""", (string?)JsonNode.Parse((string)payload["Data"]!["events"]!)![0]);
        var system = JsonNode.Parse((string)payload["Metadata"]!["SystemPropertiesArray"]!)![0]!;
        Assert.Equal("edge-7", (string?)system["iothub-connection-device-id"]);
        Assert.Equal("modbus", (string?)system["iothub-connection-module-id"]);
        Assert.Equal("m-1", (string?)system["message-id"]);
        Assert.Equal("application/json", (string?)system["content-type"]);
        Assert.Equal("high", (string?)JsonNode.Parse((string)payload["Metadata"]!["PropertiesArray"]!)![0]!["alarm"]);
        await _app.WaitForAsync(_ => host.Stats.EventsDelivered == 1);
    }
}
