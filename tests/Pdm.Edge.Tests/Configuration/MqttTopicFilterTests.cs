using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

public sealed class MqttTopicFilterTests
{
    [Theory]
    [InlineData("plant/+/telemetry", "plant/press7/telemetry", true)]
    [InlineData("plant/+/telemetry", "plant/press7/status", false)]
    [InlineData("plant/+/telemetry", "plant/a/b/telemetry", false)]
    [InlineData("plant/+/telemetry", "plant//telemetry", true)]
    [InlineData("plant/#", "plant", true)]
    [InlineData("plant/#", "plant/a/b/c", true)]
    [InlineData("plant/#", "plants/a", false)]
    [InlineData("#", "anything/at/all", true)]
    [InlineData("#", "$SYS/broker/uptime", false)]
    [InlineData("+/status", "$SYS/status", false)]
    [InlineData("plant/line1", "plant/line1", true)]
    [InlineData("plant/line1", "plant/Line1", false)]
    [InlineData("plant/+", "plant/", true)]
    [InlineData("plant/#", "plant/", true)]
    [InlineData("plant/+/#", "plant/a", true)]
    [InlineData("plant/+/#", "plant/a/b/c", true)]
    [InlineData("plant/+/#", "plant", false)]
    [InlineData("+/telemetry", "/telemetry", true)]
    [InlineData("$iothub/#", "$iothub/twin/res/200", true)]
    public void Filter_matches_topics_like_a_broker(string filter, string topic, bool matches)
    {
        Assert.True(MqttTopicFilter.TryParse(filter, out var parsed, out var error), error);

        Assert.Equal(matches, parsed.Matches(topic));
    }

    /// <summary>
    /// Where MQTTnet 5.2's comparer and the MQTT spec (and Mosquitto, which delivers these) disagree, so filters with a
    /// '+' before another level keep our own walk. When this fails after an MQTTnet upgrade, the walk can go.
    /// </summary>
    [Theory]
    [InlineData("plant/+/telemetry", "plant//telemetry")]
    [InlineData("plant/+/#", "plant/a")]
    public void MqttNet_comparer_still_differs_from_the_spec_for_plus_before_another_level(string filter, string topic)
    {
        Assert.True(MqttTopicFilter.TryParse(filter, out var parsed, out _));

        Assert.True(parsed.Matches(topic));
        Assert.Equal(MQTTnet.MqttTopicFilterCompareResult.NoMatch, MQTTnet.MqttTopicFilterComparer.Compare(topic, filter));
    }

    [Theory]
    [InlineData("", "topic filter is empty")]
    [InlineData("plant/#/x", "'#' in topic filter 'plant/#/x' must be a whole level and the last one")]
    [InlineData("plant/a#", "'#' in topic filter 'plant/a#' must be a whole level")]
    [InlineData("plant/a+/x", "'+' in topic filter 'plant/a+/x' must be a whole level (like 'plant/+/telemetry'), not part of 'a+'")]
    public void Invalid_filter_is_rejected_with_reason(string filter, string error)
    {
        Assert.False(MqttTopicFilter.TryParse(filter, out _, out var problem));

        Assert.Contains(error, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plant/+/+/telemetry", "{3}", "plant/l1/PRESS_7/telemetry", "PRESS_7")]
    [InlineData("plant/+/+/telemetry", "line-{2}-{3}", "plant/l1/7/telemetry", "line-l1-7")]
    [InlineData("plant/+/telemetry", "FIXED_1", "plant/any/telemetry", "FIXED_1")]
    public void Machine_id_template_takes_topic_levels(string filter, string template, string topic, string machineId)
    {
        Assert.True(MqttTopicFilter.TryParse(filter, out var parsed, out _));
        Assert.True(MachineIdTemplate.TryParse(template, parsed, out var compiled, out var error), error);

        Assert.True(compiled.TryResolve(topic, out var resolved, out error), error);
        Assert.Equal(machineId, resolved);
    }

    [Fact]
    public void Topic_level_that_is_no_machine_id_is_refused_with_the_topic()
    {
        Assert.True(MqttTopicFilter.TryParse("plant/+/telemetry", out var filter, out _));
        Assert.True(MachineIdTemplate.TryParse("{2}", filter, out var template, out _));

        Assert.False(template.TryResolve("plant/press 7/telemetry", out var machineId, out var error));

        Assert.Null(machineId);
        Assert.Equal("topic 'plant/press 7/telemetry' gives machine id 'press 7' has a character other than A-Z a-z 0-9 _ . : - at position 6", error);
    }

    [Theory]
    [InlineData("plant/#", "{2}", "'{2}' takes topic level 2, but topics matching 'plant/#' are only sure to have 1")]
    [InlineData("plant/+", "{x}", "'{x}' has a placeholder at position 1 that is not a topic level number like {1}")]
    [InlineData("plant/+", "{0}", "not a topic level number")]
    [InlineData("plant/+", "a b", "machine id 'a b' has a character other than A-Z a-z 0-9 _ . : - at position 2")]
    [InlineData("plant/+", "", "machine id is empty")]
    public void Invalid_machine_id_template_is_rejected(string filter, string template, string error)
    {
        Assert.True(MqttTopicFilter.TryParse(filter, out var parsed, out _));

        Assert.False(MachineIdTemplate.TryParse(template, parsed, out _, out var problem));

        Assert.Contains(error, problem, StringComparison.Ordinal);
    }
}
