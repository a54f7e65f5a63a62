using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.IotHub.Tests;

/// <summary>
/// A Mosquitto whose ACL lets a device and a stand-in "hub" use <c>$iothub/twin/#</c> (Mosquitto 2.0.11 accepts
/// <c>$</c> topics other than <c>$SYS</c>); a third device has only the local stack's usual <c>devices/{id}/#</c>.
/// </summary>
public sealed class TwinBrokerFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), $"pdm-twin-{Guid.NewGuid():N}"[..24]);
    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException("broker not started");
    public DeviceIdentity Device { get; private set; } = null!;
    public DeviceIdentity Hub { get; private set; } = null!;
    public DeviceIdentity DeviceWithoutTwin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var broker = new MosquittoBroker(StateDirectory, FreePort.Pick());
        Directory.CreateDirectory(StateDirectory);
        var registry = MosquittoFixture.RegistryFor(broker);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Device = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("twin-device"), timeout.Token);
        Hub = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("twin-hub"), timeout.Token);
        DeviceWithoutTwin = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("plain-device"), timeout.Token);
        // A second block for the same user adds to its rights.
        await File.AppendAllTextAsync(broker.AclFile,
            $"user {Device.DeviceId}\ntopic readwrite $iothub/twin/#\n\nuser {Hub.DeviceId}\ntopic readwrite $iothub/twin/#\n\n", timeout.Token);
        _broker = broker;
        await broker.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
        Directory.Delete(StateDirectory, recursive: true);
    }

    public MqttOptions OptionsFor(DeviceIdentity identity) => new()
    {
        Host = "127.0.0.1",
        Port = Broker.Port,
        ClientId = MosquittoFixture.UniqueClientId(identity.DeviceId[..8]),
        Username = identity.DeviceId,
        Password = identity.PrimaryKey,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };
}

/// <summary>Plays IoT Hub's side of the twin topics: answers GET and reported PATCH, sends desired patches.</summary>
internal sealed class TwinHubResponder : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _reportedVersion = 7;

    private TwinHubResponder(IMqttClient client) => _client = client;

    public string Desired { get; set; } = """{"interval":5,"$version":3}""";
    public ConcurrentQueue<string> ReportedPatches { get; } = new();

    /// <summary>Answer the next request with this status instead.</summary>
    public int? NextStatus { get; set; }

    /// <summary>Ignore requests, as a hub that lost them would.</summary>
    public bool Silent { get; set; }

    public static async Task<TwinHubResponder> StartAsync(MqttOptions options)
    {
        var responder = new TwinHubResponder(await MqttTestExtensions.ConnectedAsync(options));
        using var timeout = new CancellationTokenSource(MqttTestExtensions.Timeout);
        await responder._client.SubscribeAsync("$iothub/twin/GET/#", 1, timeout.Token);
        await responder._client.SubscribeAsync("$iothub/twin/PATCH/properties/reported/#", 1, timeout.Token);
        responder._loop = Task.Run(() => responder.AnswerAsync(responder._stop.Token));
        return responder;
    }

    public async Task SendDesiredPatchAsync(string patch, long version)
    {
        using var timeout = new CancellationTokenSource(MqttTestExtensions.Timeout);
        await _client.PublishAsync(new MqttMessage($"$iothub/twin/PATCH/properties/desired/?$version={version}", Encoding.UTF8.GetBytes(patch)),
            timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        await _client.DisposeAsync();
        _stop.Dispose();
    }

    private async Task AnswerAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var request in _client.Messages.ReadAllAsync(stop))
            {
                if (Silent)
                {
                    continue;
                }
                var requestId = request.Topic[(request.Topic.IndexOf("?$rid=", StringComparison.Ordinal) + 6)..];
                var isGet = request.Topic.StartsWith("$iothub/twin/GET/", StringComparison.Ordinal);
                var status = NextStatus ?? (isGet ? 200 : 204);
                NextStatus = null;
                string topic;
                var body = "";
                if (status is not (200 or 204))
                {
                    topic = $"$iothub/twin/res/{status}/?$rid={requestId}";
                    body = """{"errorCode":429001,"message":"throttled"}""";
                }
                else if (isGet)
                {
                    topic = $"$iothub/twin/res/200/?$rid={requestId}";
                    body = $"{{\"desired\":{Desired},\"reported\":{{\"sources\":{{}},\"$version\":{Interlocked.Read(ref _reportedVersion)}}}}}";
                }
                else
                {
                    ReportedPatches.Enqueue(Encoding.UTF8.GetString(request.Payload.Span));
                    var version = Interlocked.Increment(ref _reportedVersion).ToString(CultureInfo.InvariantCulture);
                    topic = $"$iothub/twin/res/204/?$rid={requestId}&$version={version}";
                }
                await _client.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes(body)), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // test over
        }
    }
}

[Trait("Category", "Integration")]
public sealed class TwinClientTests : IClassFixture<TwinBrokerFixture>, IAsyncLifetime
{
    private readonly TwinBrokerFixture _fixture;
    private readonly CancellationTokenSource _stop = new();
    private TwinHubResponder _hub = null!;
    private IMqttClient _device = null!;
    private MqttTopicRouter _router = null!;
    private ChannelReader<MqttMessage> _deviceMessages = null!;
    private Task _routing = Task.CompletedTask;
    private TwinClient _twin = null!;

    public TwinClientTests(TwinBrokerFixture fixture) => _fixture = fixture;

    public async Task InitializeAsync()
    {
        _hub = await TwinHubResponder.StartAsync(_fixture.OptionsFor(_fixture.Hub));
        _device = await MqttTestExtensions.ConnectedAsync(_fixture.OptionsFor(_fixture.Device));
        _router = new MqttTopicRouter(_device.Messages);
        _twin = TwinClient.Create(_device, _router);
        _deviceMessages = _router.Route($"devices/{_fixture.Device.DeviceId}/#");
        _routing = _router.RunAsync(_stop.Token);
        await _twin.StartAsync(Timeout());
    }

    public async Task DisposeAsync()
    {
        await _twin.DisposeAsync();
        await _stop.CancelAsync();
        await _routing;
        await _device.DisposeAsync();
        await _hub.DisposeAsync();
        _stop.Dispose();
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(MqttTestExtensions.Timeout).Token;

    [Fact]
    public async Task Get_returns_desired_and_reported_properties_with_their_versions()
    {
        var twin = await _twin.GetAsync(Timeout());

        Assert.Equal(3, twin.DesiredVersion);
        Assert.Equal(7, twin.ReportedVersion);
        using var desired = JsonDocument.Parse(twin.Desired);
        Assert.Equal(5, desired.RootElement.GetProperty("interval").GetInt32());
        Assert.Equal("""{"sources":{},"$version":7}""", twin.Reported);
    }

    [Fact]
    public async Task Reported_patch_is_acknowledged_with_the_new_version()
    {
        const string Patch = """{"sources":{"press-1":{"state":"Connected"}}}""";

        var first = await _twin.UpdateReportedAsync(Patch, Timeout());
        var second = await _twin.UpdateReportedAsync("""{"sources":{"press-1":null}}""", Timeout());

        Assert.Equal(8, first);
        Assert.Equal(9, second);
        Assert.Equal([Patch, """{"sources":{"press-1":null}}"""], _hub.ReportedPatches);
    }

    [Fact]
    public async Task Desired_patch_from_the_hub_arrives_on_the_channel()
    {
        await _hub.SendDesiredPatchAsync("""{"interval":10,"$version":4}""", 4);

        var patch = await _twin.DesiredPatches.ReadAsync(Timeout());

        using var document = JsonDocument.Parse(patch);
        Assert.Equal(10, document.RootElement.GetProperty("interval").GetInt32());
        Assert.Equal(4, document.RootElement.GetProperty("$version").GetInt64());
    }

    [Fact]
    public async Task Throttled_request_fails_with_status_429_as_transient()
    {
        _hub.NextStatus = 429;

        var error = await Assert.ThrowsAsync<TwinException>(() => _twin.GetAsync(Timeout()));

        Assert.Equal(429, error.Status);
        Assert.True(error.IsTransient);
        Assert.StartsWith("Twin GET answered 429 (throttled, retry later):", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await _twin.GetAsync(Timeout())).DesiredVersion);
    }

    [Fact]
    public async Task Malformed_patch_is_reported_with_status_400_as_permanent()
    {
        _hub.NextStatus = 400;

        var error = await Assert.ThrowsAsync<TwinException>(() => _twin.UpdateReportedAsync("""{"a":1}""", Timeout()));

        Assert.Equal(400, error.Status);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task Request_the_hub_never_answers_times_out()
    {
        _hub.Silent = true;
        await using var twin = new TwinClient(_device, Channel.CreateUnbounded<MqttMessage>().Reader) { RequestTimeout = TimeSpan.FromMilliseconds(300) };
        await twin.StartAsync(Timeout());

        var error = await Assert.ThrowsAsync<TimeoutException>(() => twin.GetAsync(Timeout()));

        Assert.Matches(@"^Twin GET \(request [0-9a-f]{8}1\) got no response within 0\.3 s\.$", error.Message);
    }

    [Fact]
    public async Task Patch_that_is_not_a_json_object_is_refused_before_it_is_sent()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _twin.UpdateReportedAsync("[1,2]", Timeout()));

        Assert.StartsWith("A reported-properties patch must be a JSON object: it is a JSON Array", error.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.ReportedPatches);
    }

    [Fact]
    public async Task Other_messages_of_the_session_reach_their_own_route_while_the_twin_works()
    {
        var topic = $"devices/{_fixture.Device.DeviceId}/messages/devicebound/%24.mid=42";
        await _device.SubscribeAsync($"devices/{_fixture.Device.DeviceId}/messages/devicebound/#", 1, Timeout());
        await using var service = await MqttTestExtensions.ConnectedAsync(MosquittoFixture.ServiceOptionsFor(_fixture.Broker, "twin-service"));

        await service.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes("restart")), Timeout());
        var twin = await _twin.GetAsync(Timeout());
        var other = await _deviceMessages.ReadAsync(Timeout());

        Assert.Equal(3, twin.DesiredVersion);
        Assert.Equal(topic, other.Topic);
        Assert.Equal("restart", Encoding.UTF8.GetString(other.Payload.Span));
    }

    [Fact]
    public async Task Device_with_only_the_local_stack_rights_gets_no_twin_answer()
    {
        // Mosquitto 2.0.11 grants the subscription and acknowledges the publish, then drops what the ACL denies:
        // why local mode reports no twin.
        await using var plain = await MqttTestExtensions.ConnectedAsync(_fixture.OptionsFor(_fixture.DeviceWithoutTwin));
        await using var twin = new TwinClient(plain, plain.Messages) { RequestTimeout = TimeSpan.FromMilliseconds(500) };
        await twin.StartAsync(Timeout());

        await Assert.ThrowsAsync<TimeoutException>(() => twin.GetAsync(Timeout()));
    }
}
