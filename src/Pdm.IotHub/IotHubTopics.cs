using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Pdm.IotHub;

/// <summary>A device-to-cloud topic taken apart: who sent it and the properties in its property bag.</summary>
public sealed record IotHubEventTopic
{
    public required string DeviceId { get; init; }

    /// <summary>The sending module, or null when a device sent the message.</summary>
    public string? ModuleId { get; init; }

    /// <summary>System properties (<c>$.</c> keys) under the names the Event Hubs side uses, e.g. <c>content-type</c>.</summary>
    public required IReadOnlyDictionary<string, string> SystemProperties { get; init; }

    /// <summary>Application properties, as the device named them.</summary>
    public required IReadOnlyDictionary<string, string> ApplicationProperties { get; init; }
}

/// <summary>
/// IoT Hub's MQTT system property keys (the <c>$.</c> names a device writes into its property bag) and the names the
/// same properties carry on the Event Hubs side.
/// </summary>
public static class IotHubSystemProperties
{
    public const string MessageId = "$.mid";
    public const string CorrelationId = "$.cid";
    public const string UserId = "$.uid";
    public const string To = "$.to";
    public const string ContentType = "$.ct";
    public const string ContentEncoding = "$.ce";
    public const string AbsoluteExpiryTime = "$.exp";
    public const string CreationTime = "$.ctime";
    public const string MessageSchema = "$.schema";
    public const string OutputName = "$.on";
    public const string InterfaceId = "$.ifid";
    public const string Component = "$.sub";
    public const string ConnectionDeviceId = "$.cdid";
    public const string ConnectionModuleId = "$.cmid";

    /// <summary>Wire key to Event Hubs name.</summary>
    public static IReadOnlyDictionary<string, string> EventHubsNames { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [MessageId] = "message-id",
        [CorrelationId] = "correlation-id",
        [UserId] = "user-id",
        [To] = "to",
        [ContentType] = "content-type",
        [ContentEncoding] = "content-encoding",
        [AbsoluteExpiryTime] = "absolute-expiry-time",
        [CreationTime] = "iothub-creation-time-utc",
        [MessageSchema] = "iothub-message-schema",
        [OutputName] = "iothub-outputname",
        [InterfaceId] = "iothub-interface-id",
        [Component] = "dt-subject",
        [ConnectionDeviceId] = "iothub-connection-device-id",
        [ConnectionModuleId] = "iothub-connection-module-id",
    };
}

/// <summary>IoT Hub's device-to-cloud topic layout, used unchanged against the local Mosquitto.</summary>
public static class IotHubTopics
{
    /// <summary>Subscription filter for what every device sends.</summary>
    public const string AllDeviceEvents = "devices/+/messages/events/#";

    /// <summary>Subscription filter for what every module (edge modules included) sends.</summary>
    public const string AllModuleEvents = "devices/+/modules/+/messages/events/#";

    private const string SystemPrefix = "$.";
    private const string EncodedSystemPrefix = "%24.";

    /// <summary>
    /// <c>devices/{deviceId}/messages/events/</c> followed by the URL-encoded property bag. Keys starting with
    /// <c>$.</c> (see <see cref="IotHubSystemProperties"/>) are system properties; every other key is an application property.
    /// </summary>
    public static string DeviceEvents(string deviceId, IReadOnlyDictionary<string, string>? properties = null)
    {
        CheckId(deviceId, nameof(deviceId));
        return $"devices/{deviceId}/messages/events/{EncodePropertyBag(properties)}";
    }

    /// <summary><c>devices/{deviceId}/modules/{moduleId}/messages/events/</c> followed by the property bag.</summary>
    public static string ModuleEvents(string deviceId, string moduleId, IReadOnlyDictionary<string, string>? properties = null)
    {
        CheckId(deviceId, nameof(deviceId));
        CheckId(moduleId, nameof(moduleId));
        return $"devices/{deviceId}/modules/{moduleId}/messages/events/{EncodePropertyBag(properties)}";
    }

    /// <summary>The property bag: <c>k1=v1&amp;k2=v2</c>, each key and value URL-encoded, the <c>$.</c> prefix kept literal.</summary>
    public static string EncodePropertyBag(IReadOnlyDictionary<string, string>? properties)
    {
        if (properties is null || properties.Count == 0)
        {
            return "";
        }
        var bag = new StringBuilder();
        foreach (var (key, value) in properties)
        {
            ArgumentException.ThrowIfNullOrEmpty(key, nameof(properties));
            if (bag.Length > 0)
            {
                bag.Append('&');
            }
            if (key.StartsWith(SystemPrefix, StringComparison.Ordinal))
            {
                bag.Append(SystemPrefix).Append(Uri.EscapeDataString(key[SystemPrefix.Length..]));
            }
            else
            {
                bag.Append(Uri.EscapeDataString(key));
            }
            bag.Append('=').Append(Uri.EscapeDataString(value ?? ""));
        }
        return bag.ToString();
    }

    /// <summary>
    /// An events topic (as <see cref="DeviceEvents"/> or <see cref="ModuleEvents"/> built it) with more properties
    /// in its bag: what differs per message, such as the message id or the trace context.
    /// </summary>
    public static string AppendProperties(string topic, IReadOnlyDictionary<string, string> properties)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var bag = EncodePropertyBag(properties);
        return bag.Length == 0 ? topic : topic.EndsWith('/') ? topic + bag : topic + "&" + bag;
    }

    /// <summary>
    /// Takes a device or module events topic apart. Accepts the property bag with or without a trailing slash or a
    /// leading <c>?</c>, and <c>$</c> written literally or as <c>%24</c>. Returns false for any other topic.
    /// </summary>
    public static bool TryParseEvents(string topic, [NotNullWhen(true)] out IotHubEventTopic? parsed)
    {
        parsed = null;
        if (string.IsNullOrEmpty(topic))
        {
            return false;
        }
        var levels = topic.Split('/');
        if (levels.Length < 4 || levels[0] != "devices" || levels[1].Length == 0)
        {
            return false;
        }

        string? moduleId = null;
        int bagStart;
        if (levels[2] == "messages" && levels[3] == "events")
        {
            bagStart = 4;
        }
        else if (levels.Length >= 6 && levels[2] == "modules" && levels[3].Length > 0 && levels[4] == "messages" && levels[5] == "events")
        {
            moduleId = levels[3];
            bagStart = 6;
        }
        else
        {
            return false;
        }

        // What follows "events/" is the bag, optionally with one trailing slash (the C# device SDK writes one).
        var rest = levels.Length > bagStart ? levels.AsSpan(bagStart).ToArray() : [];
        if (rest.Length > 1 && rest[^1].Length == 0)
        {
            rest = rest[..^1];
        }
        if (rest.Length > 1)
        {
            return false;
        }
        var bag = rest.Length == 1 ? rest[0] : "";
        if (bag.StartsWith('?'))
        {
            bag = bag[1..];
        }

        var system = new Dictionary<string, string>(StringComparer.Ordinal);
        var application = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in bag.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var rawKey = equals < 0 ? pair : pair[..equals];
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            if (rawKey.StartsWith(SystemPrefix, StringComparison.Ordinal) || rawKey.StartsWith(EncodedSystemPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var wireKey = Uri.UnescapeDataString(rawKey);
                system[IotHubSystemProperties.EventHubsNames.GetValueOrDefault(wireKey, wireKey)] = value;
            }
            else
            {
                application[Uri.UnescapeDataString(rawKey)] = value;
            }
        }

        parsed = new IotHubEventTopic
        {
            DeviceId = levels[1],
            ModuleId = moduleId,
            SystemProperties = system,
            ApplicationProperties = application,
        };
        return true;
    }

    private static void CheckId(string id, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(id, parameterName);
        if (id.AsSpan().IndexOfAny('/', '+', '#') >= 0)
        {
            throw new ArgumentException($"'{id}' cannot be used in a topic: it contains '/', '+' or '#'.", parameterName);
        }
    }
}
