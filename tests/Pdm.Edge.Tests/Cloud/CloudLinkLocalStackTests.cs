using System.Text;
using Pdm.Edge.Cloud;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.Edge.Tests.Cloud;

/// <summary>Local mode against a real Mosquitto with a device the local device registry created.</summary>
[Trait("Category", "Integration")]
public sealed class CloudLinkLocalStackTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-cloud-mq-{Guid.NewGuid():N}"[..27]);
    private MosquittoBroker _broker = null!;

    public async Task InitializeAsync()
    {
        _broker = new MosquittoBroker(_directory, FreePort.Pick());
        using var timeout = new CancellationTokenSource(Wait);
        await _broker.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Telemetry_sent_over_the_local_link_arrives_on_iot_hubs_topic_with_json_properties()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var registry = new MosquittoDeviceRegistry(new MosquittoDeviceRegistryOptions
        {
            PasswordFile = _broker.PasswordFile,
            AclFile = _broker.AclFile,
            PidFile = _broker.PidFile,
        });
        var device = await registry.CreateOrUpdateAsync($"cloud-{Guid.NewGuid():N}"[..16], timeout.Token);
        await _broker.ReloadAsync(timeout.Token);
        await using var service = MqttNetClient.Create(new MqttOptions
        {
            Host = "127.0.0.1", Port = _broker.ServicePort, ClientId = $"pdm-svc-{Guid.NewGuid():N}"[..20],
            Username = _broker.ServiceUser, Password = _broker.ServicePassword,
        });
        await service.ConnectAsync(timeout.Token);
        await service.SubscribeAsync(IotHubTopics.AllDeviceEvents, 1, timeout.Token);

        var settings = new CloudSettings { LocalPort = _broker.Port, LocalDeviceId = device.DeviceId, LocalPassword = device.PrimaryKey };
        using var link = await CloudLink.CreateAsync(settings, _ => null, _directory, TimeProvider.System, null, timeout.Token);
        await using var client = MqttNetClient.Create(link.MqttOptions);
        await client.ConnectAsync(timeout.Token);
        await client.PublishAsync(new MqttMessage(link.TelemetryTopic, Encoding.UTF8.GetBytes("""{"v":1}""")), timeout.Token);

        var received = await service.Messages.ReadAsync(timeout.Token);
        Assert.True(IotHubTopics.TryParseEvents(received.Topic, out var parsed));
        Assert.Equal(device.DeviceId, parsed.DeviceId);
        Assert.Equal("application/json", parsed.SystemProperties["content-type"]);
        Assert.Equal("utf-8", parsed.SystemProperties["content-encoding"]);
        Assert.Equal("""{"v":1}""", Encoding.UTF8.GetString(received.Payload.Span));
    }
}
