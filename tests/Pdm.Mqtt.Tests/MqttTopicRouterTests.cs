using System.Threading.Channels;
using Pdm.Mqtt;

namespace Pdm.Mqtt.Tests;

public class MqttTopicRouterTests
{
    private static MqttMessage Message(string topic) => new(topic, ReadOnlyMemory<byte>.Empty);

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    [Fact]
    public async Task Each_message_goes_to_the_longest_matching_filter_in_arrival_order()
    {
        var source = Channel.CreateUnbounded<MqttMessage>();
        var router = new MqttTopicRouter(source.Reader);
        var twin = router.Route("$iothub/twin/#");
        var iothub = router.Route("$iothub/#");
        var device = router.Route("devices/gw/+/#");
        var run = router.RunAsync(Timeout());

        foreach (var topic in (string[])["$iothub/twin/res/200/?$rid=1", "devices/gw/inputs/a", "$iothub/methods/POST/restart/?$rid=2",
                     "unrouted/topic", "$iothub/twin/PATCH/properties/desired/?$version=2", "devices/gw/inputs/b", "devices/gw"])
        {
            source.Writer.TryWrite(Message(topic));
        }
        source.Writer.Complete();
        await run;

        Assert.Equal(["$iothub/twin/res/200/?$rid=1", "$iothub/twin/PATCH/properties/desired/?$version=2"], await TopicsAsync(twin));
        Assert.Equal(["$iothub/methods/POST/restart/?$rid=2"], await TopicsAsync(iothub));
        Assert.Equal(["devices/gw/inputs/a", "devices/gw/inputs/b"], await TopicsAsync(device));
    }

    [Fact]
    public async Task Routes_end_when_the_router_is_cancelled()
    {
        var router = new MqttTopicRouter(Channel.CreateUnbounded<MqttMessage>().Reader);
        var route = router.Route("$iothub/twin/#");
        using var stop = new CancellationTokenSource();
        var run = router.RunAsync(stop.Token);

        await stop.CancelAsync();
        await run;

        await route.Completion.WaitAsync(Timeout());
    }

    [Fact]
    public void Route_added_after_the_router_started_is_refused()
    {
        var router = new MqttTopicRouter(Channel.CreateUnbounded<MqttMessage>().Reader);
        _ = router.RunAsync(CancellationToken.None);

        var error = Assert.Throws<InvalidOperationException>(() => router.Route("devices/#"));

        Assert.Equal("Route 'devices/#' must be added before the router runs.", error.Message);
    }

    [Fact]
    public void Same_filter_cannot_have_two_routes()
    {
        var router = new MqttTopicRouter(Channel.CreateUnbounded<MqttMessage>().Reader);
        router.Route("devices/#");

        Assert.Throws<InvalidOperationException>(() => router.Route("devices/#"));
    }

    [Theory]
    [InlineData("devices/#/x")]
    [InlineData("devices/a+")]
    public void Invalid_filter_is_refused(string filter)
    {
        var router = new MqttTopicRouter(Channel.CreateUnbounded<MqttMessage>().Reader);

        var error = Assert.Throws<ArgumentException>(() => router.Route(filter));

        Assert.StartsWith($"'{filter}' is not a valid MQTT topic filter", error.Message, StringComparison.Ordinal);
    }

    private static async Task<List<string>> TopicsAsync(ChannelReader<MqttMessage> reader)
    {
        var topics = new List<string>();
        await foreach (var message in reader.ReadAllAsync(Timeout()))
        {
            topics.Add(message.Topic);
        }
        return topics;
    }
}
