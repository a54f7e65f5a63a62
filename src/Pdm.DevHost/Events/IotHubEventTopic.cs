using System.Diagnostics.CodeAnalysis;

namespace Pdm.DevHost.Events;

/// <summary>
/// Reads IoT Hub's device-to-cloud topics: devices/{d}/messages/events/[bag][/] and
/// devices/{d}/modules/{m}/messages/events/[bag][/], with the URL-encoded property bag k=v&amp;k2=v2.
/// </summary>
internal static class IotHubEventTopic
{
    /// <summary>MQTT short names of system properties and their names on the Event Hubs side.</summary>
    private static readonly Dictionary<string, string> SystemPropertyNames = new(StringComparer.Ordinal)
    {
        ["$.mid"] = "message-id",
        ["$.cid"] = "correlation-id",
        ["$.uid"] = "user-id",
        ["$.to"] = "to",
        ["$.ct"] = "content-type",
        ["$.ce"] = "content-encoding",
        ["$.exp"] = "absolute-expiry-time",
        ["$.ctime"] = "creation-time",
        ["$.sub"] = "dt-subject",
    };

    public static bool TryParse(string topic, ReadOnlyMemory<byte> body, [NotNullWhen(true)] out DeviceEvent? deviceEvent)
    {
        deviceEvent = null;
        var parts = topic.Split('/');
        int eventsAt;
        string? moduleId = null;
        if (parts.Length >= 4 && parts[0] == "devices" && parts[2] == "messages" && parts[3] == "events")
        {
            eventsAt = 3;
        }
        else if (parts.Length >= 6 && parts[0] == "devices" && parts[2] == "modules" && parts[4] == "messages" && parts[5] == "events")
        {
            eventsAt = 5;
            moduleId = parts[3];
        }
        else
        {
            return false;
        }

        // What follows "events/" is the property bag, possibly with a trailing slash (the C# SDK writes one) or a "?" prefix.
        var bag = string.Join('/', parts.Skip(eventsAt + 1)).TrimEnd('/').TrimStart('?');
        if (parts[1].Length == 0 || moduleId?.Length == 0 || bag.Contains('/', StringComparison.Ordinal))
        {
            return false;
        }

        var system = new Dictionary<string, string>(StringComparer.Ordinal);
        var application = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in bag.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            if (SystemPropertyNames.TryGetValue(key, out var systemName))
            {
                system[systemName] = value;
            }
            else if (!key.StartsWith("$.", StringComparison.Ordinal))
            {
                // Other $. keys ($.on, $.ifid, $.cdid...) are routing hints IoT Hub consumes or overwrites, not message properties.
                application[key] = value;
            }
        }

        deviceEvent = new DeviceEvent
        {
            DeviceId = Uri.UnescapeDataString(parts[1]),
            ModuleId = moduleId is null ? null : Uri.UnescapeDataString(moduleId),
            Body = body,
            SystemProperties = system,
            ApplicationProperties = application,
        };
        return true;
    }
}
