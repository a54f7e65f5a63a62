using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Events;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// Builds Data and Metadata for an Event Hubs batch exactly as the host hands them to a custom handler:
/// arrays are JSON text inside a string (the host serializes every non-object value), PartitionContext is
/// a nested object, and the system properties are the ones IoT Hub and the Event Hubs extension add.
/// </summary>
internal static class EventHubPayload
{
    /// <summary>Namespace we report in PartitionContext; there is no real Event Hubs namespace locally.</summary>
    public const string FullyQualifiedNamespace = "localhost";

    private static readonly JsonSerializerOptions TextOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static InvocationInput Build(EventHubTriggerBinding binding, IReadOnlyList<PartitionEvent> batch)
    {
        var bodies = new JsonArray();
        var partitionKeys = new JsonArray();
        var offsets = new JsonArray();
        var sequenceNumbers = new JsonArray();
        var enqueuedTimes = new JsonArray();
        var properties = new JsonArray();
        var systemProperties = new JsonArray();
        foreach (var e in batch)
        {
            bodies.Add(binding.Binary ? Convert.ToBase64String(e.Event.Body.Span) : Encoding.UTF8.GetString(e.Event.Body.Span));
            partitionKeys.Add((JsonNode?)null);
            offsets.Add(OffsetText(e));
            sequenceNumbers.Add(e.SequenceNumber);
            enqueuedTimes.Add(e.EnqueuedTimeUtc);
            properties.Add(new JsonObject(e.Event.ApplicationProperties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))));
            systemProperties.Add(SystemProperties(e));
        }

        var data = new JsonObject { [binding.Name] = AsText(bodies) };
        var metadata = new JsonObject
        {
            ["PartitionContext"] = new JsonObject
            {
                ["FullyQualifiedNamespace"] = FullyQualifiedNamespace,
                ["EventHubName"] = binding.EventHubName,
                ["ConsumerGroup"] = binding.ConsumerGroup,
                ["PartitionId"] = batch[0].PartitionId,
            },
            ["PartitionKeyArray"] = AsText(partitionKeys),
            ["OffsetArray"] = AsText(offsets),
            ["SequenceNumberArray"] = AsText(sequenceNumbers),
            ["EnqueuedTimeUtcArray"] = AsText(enqueuedTimes),
            ["PropertiesArray"] = AsText(properties),
            ["SystemPropertiesArray"] = AsText(systemProperties),
        };
        return new InvocationInput(data, metadata);
    }

    private static JsonObject SystemProperties(PartitionEvent e)
    {
        var device = e.Event;
        var result = new JsonObject();
        foreach (var (name, value) in device.SystemProperties)
        {
            // Identity comes from the connection, never from the device's property bag ($.cdid/$.cmid cannot spoof it).
            if (!name.StartsWith("iothub-connection-", StringComparison.Ordinal))
            {
                result[name] = value;
            }
        }

        result["iothub-connection-device-id"] = device.DeviceId;
        if (device.ModuleId is not null)
        {
            result["iothub-connection-module-id"] = device.ModuleId;
        }

        var scope = device.ModuleId is null ? "device" : "module";
        result["iothub-connection-auth-method"] = $"{{\"scope\":\"{scope}\",\"type\":\"sas\",\"issuer\":\"iothub\",\"acceptingIpFilterRule\":null}}";
        result["iothub-connection-auth-generation-id"] = AuthGenerationId(device);
        result["iothub-enqueuedtime"] = e.EnqueuedTimeUtc;
        result["iothub-message-source"] = "Telemetry";

        result["x-opt-sequence-number"] = e.SequenceNumber;
        result["x-opt-offset"] = OffsetText(e);
        result["x-opt-enqueued-time"] = e.EnqueuedTimeUtc;
        // The four keys the Functions extension adds for backwards compatibility.
        result["SequenceNumber"] = e.SequenceNumber;
        result["Offset"] = OffsetText(e);
        result["PartitionKey"] = null;
        result["EnqueuedTimeUtc"] = e.EnqueuedTimeUtc;
        return result;
    }

    /// <summary>IoT Hub gives each identity an 18-digit generation id; a stable one per identity is enough locally.</summary>
    private static string AuthGenerationId(DeviceEvent device)
    {
        var identity = device.ModuleId is null ? device.DeviceId : device.DeviceId + "/" + device.ModuleId;
        var hash = (uint)BuiltInEndpoint.PartitionFor(identity, int.MaxValue);
        return "637" + (hash % 1_000_000_000_000_000UL).ToString("D15", CultureInfo.InvariantCulture);
    }

    private static string OffsetText(PartitionEvent e) => e.Offset.ToString(CultureInfo.InvariantCulture);

    private static JsonValue AsText(JsonNode node) => JsonValue.Create(node.ToJsonString(TextOptions));
}
