namespace Pdm.Mqtt;

/// <summary>
/// The MQTT 3.1.1 rules for a subscription filter (4.7.1). MQTTnet's own check only places '#', and a broker answers
/// a filter like <c>plant/a+</c> by closing the connection, which a reconnecting client would repeat forever.
/// </summary>
internal static class MqttTopicFilterRules
{
    /// <summary>Why <paramref name="topicFilter"/> is not a valid filter, or null when it is.</summary>
    public static string? Problem(string topicFilter)
    {
        if (topicFilter.Length == 0)
        {
            return "a topic filter is not empty";
        }
        var levels = topicFilter.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            if (levels[i].Contains('#', StringComparison.Ordinal) && (levels[i] != "#" || i != levels.Length - 1))
            {
                return "'#' must be a whole level and the last one";
            }
            if (levels[i].Contains('+', StringComparison.Ordinal) && levels[i] != "+")
            {
                return "'+' must be a whole level";
            }
        }
        return topicFilter.Contains('\0', StringComparison.Ordinal) ? "a topic filter has no NUL character" : null;
    }
}
