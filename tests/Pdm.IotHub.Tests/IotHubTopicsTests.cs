using Pdm.IotHub;

namespace Pdm.IotHub.Tests;

public sealed class IotHubTopicsTests
{
    [Fact]
    public void Device_topic_without_properties_ends_with_events_slash() =>
        Assert.Equal("devices/gw-001/messages/events/", IotHubTopics.DeviceEvents("gw-001"));

    [Fact]
    public void System_properties_keep_a_literal_dollar_and_values_are_url_encoded()
    {
        var topic = IotHubTopics.DeviceEvents("gw-001", new Dictionary<string, string>
        {
            [IotHubSystemProperties.ContentType] = "application/json",
            [IotHubSystemProperties.ContentEncoding] = "utf-8",
        });

        Assert.Equal("devices/gw-001/messages/events/$.ct=application%2Fjson&$.ce=utf-8", topic);
    }

    [Fact]
    public void Application_property_names_and_values_with_reserved_characters_are_escaped()
    {
        var topic = IotHubTopics.ModuleEvents("gw-001", "pdm", new Dictionary<string, string> { ["line #2"] = "a+b&c=d/e" });

        Assert.Equal("devices/gw-001/modules/pdm/messages/events/line%20%232=a%2Bb%26c%3Dd%2Fe", topic);
    }

    [Theory]
    [InlineData("devices/gw-001/messages/events/", "devices/gw-001/messages/events/$.mid=m-1&traceparent=00-ab")]
    [InlineData("devices/gw-001/messages/events/$.ct=application%2Fjson", "devices/gw-001/messages/events/$.ct=application%2Fjson&$.mid=m-1&traceparent=00-ab")]
    public void Per_message_properties_are_appended_to_the_bag(string topic, string expected)
    {
        var appended = IotHubTopics.AppendProperties(topic, new Dictionary<string, string>
        {
            [IotHubSystemProperties.MessageId] = "m-1",
            ["traceparent"] = "00-ab",
        });

        Assert.Equal(expected, appended);
        Assert.True(IotHubTopics.TryParseEvents(appended, out var parsed));
        Assert.Equal("m-1", parsed.SystemProperties["message-id"]);
        Assert.Equal("00-ab", parsed.ApplicationProperties["traceparent"]);
    }

    [Fact]
    public void Property_bag_round_trips_through_topic_and_parse()
    {
        var properties = new Dictionary<string, string>
        {
            [IotHubSystemProperties.MessageId] = "m-1",
            [IotHubSystemProperties.CorrelationId] = "c/1",
            [IotHubSystemProperties.ContentType] = "application/json",
            [IotHubSystemProperties.ContentEncoding] = "utf-8",
            ["schema"] = "pdm.telemetry.v1",
            ["trace parent"] = "00-abc-def-01",
        };

        Assert.True(IotHubTopics.TryParseEvents(IotHubTopics.ModuleEvents("gw-001", "pdm", properties), out var parsed));

        Assert.Equal("gw-001", parsed.DeviceId);
        Assert.Equal("pdm", parsed.ModuleId);
        Assert.Equal(new Dictionary<string, string>
        {
            ["message-id"] = "m-1",
            ["correlation-id"] = "c/1",
            ["content-type"] = "application/json",
            ["content-encoding"] = "utf-8",
        }, parsed.SystemProperties);
        Assert.Equal(new Dictionary<string, string>
        {
            ["schema"] = "pdm.telemetry.v1",
            ["trace parent"] = "00-abc-def-01",
        }, parsed.ApplicationProperties);
    }

    [Theory]
    [InlineData("devices/d1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8")]
    [InlineData("devices/d1/messages/events/$.ct=application%2Fjson&$.ce=utf-8")]
    [InlineData("devices/d1/messages/events/$.ct=application%2Fjson&$.ce=utf-8/")]
    [InlineData("devices/d1/messages/events/?$.ct=application%2Fjson&%24.ce=utf-8")]
    public void Dollar_may_be_literal_or_percent_encoded_with_optional_slash_or_question_mark(string topic)
    {
        Assert.True(IotHubTopics.TryParseEvents(topic, out var parsed));

        Assert.Equal("d1", parsed.DeviceId);
        Assert.Null(parsed.ModuleId);
        Assert.Equal("application/json", parsed.SystemProperties["content-type"]);
        Assert.Equal("utf-8", parsed.SystemProperties["content-encoding"]);
        Assert.Empty(parsed.ApplicationProperties);
    }

    [Theory]
    [InlineData("devices/d1/messages/events")]
    [InlineData("devices/d1/messages/events/")]
    public void Topic_without_property_bag_parses_with_no_properties(string topic)
    {
        Assert.True(IotHubTopics.TryParseEvents(topic, out var parsed));

        Assert.Equal("d1", parsed.DeviceId);
        Assert.Empty(parsed.SystemProperties);
        Assert.Empty(parsed.ApplicationProperties);
    }

    [Fact]
    public void Unknown_system_key_and_key_without_value_are_kept()
    {
        Assert.True(IotHubTopics.TryParseEvents("devices/d1/messages/events/$.xyz=1&flag", out var parsed));

        Assert.Equal("1", parsed.SystemProperties["$.xyz"]);
        Assert.Equal("", parsed.ApplicationProperties["flag"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("devices/d1/messages/devicebound/x=1")]
    [InlineData("devices//messages/events/")]
    [InlineData("devices/d1/modules//messages/events/")]
    [InlineData("things/d1/messages/events/")]
    [InlineData("devices/d1/messages/events/a=1/b=2")]
    [InlineData("$iothub/twin/res/200/?$rid=1")]
    public void Other_topics_are_not_events(string topic) =>
        Assert.False(IotHubTopics.TryParseEvents(topic, out _));

    [Theory]
    [InlineData("a/b")]
    [InlineData("a+")]
    [InlineData("#")]
    public void Ids_that_would_break_the_topic_are_rejected(string deviceId) =>
        Assert.Throws<ArgumentException>(() => IotHubTopics.DeviceEvents(deviceId));

    [Fact]
    public void User_names_follow_IoT_Hub_format_with_api_version()
    {
        Assert.Equal("hub.azure-devices.net/gw-001/?api-version=2021-04-12", IotHubUserName.ForDevice("hub.azure-devices.net", "gw-001"));
        Assert.Equal("hub.azure-devices.net/gw-001/pdm/?api-version=2021-04-12", IotHubUserName.ForModule("hub.azure-devices.net", "gw-001", "pdm"));
    }
}
