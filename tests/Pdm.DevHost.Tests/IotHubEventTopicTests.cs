using Pdm.DevHost.Events;

namespace Pdm.DevHost.Tests;

public class IotHubEventTopicTests
{
    [Fact]
    public void Device_topic_with_property_bag_yields_system_and_application_properties()
    {
        Assert.True(IotHubEventTopic.TryParse(
            "devices/pump-7/messages/events/$.mid=m-1&$.ct=application%2Fjson&%24.ce=utf-8&$.cid=c-9&alarm=high%20temp&$.on=out1/",
            new byte[] { 1 }, out var e));

        Assert.Equal("pump-7", e.DeviceId);
        Assert.Null(e.ModuleId);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["message-id"] = "m-1", ["content-type"] = "application/json", ["content-encoding"] = "utf-8", ["correlation-id"] = "c-9",
            },
            e.SystemProperties);
        Assert.Equal(new Dictionary<string, string> { ["alarm"] = "high temp" }, e.ApplicationProperties);
    }

    [Theory]
    [InlineData("devices/edge-1/modules/opc/messages/events/", "edge-1", "opc")]
    [InlineData("devices/edge-1/modules/opc/messages/events", "edge-1", "opc")]
    [InlineData("devices/d1/messages/events/", "d1", null)]
    [InlineData("devices/d1/messages/events/?k=v", "d1", null)]
    public void Device_and_module_topics_are_recognised(string topic, string deviceId, string? moduleId)
    {
        Assert.True(IotHubEventTopic.TryParse(topic, ReadOnlyMemory<byte>.Empty, out var e));
        Assert.Equal((deviceId, moduleId), (e.DeviceId, e.ModuleId));
    }

    [Theory]
    [InlineData("devices/d1/messages/devicebound/x")]
    [InlineData("devices//messages/events/")]
    [InlineData("$iothub/twin/res/200/")]
    [InlineData("devices/d1/messages/events/a=1/b=2")]
    public void Other_topics_are_not_telemetry(string topic) =>
        Assert.False(IotHubEventTopic.TryParse(topic, ReadOnlyMemory<byte>.Empty, out _));
}
