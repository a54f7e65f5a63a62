using System.Globalization;
using System.Text.Json;
using Pdm.Ingest;

namespace Pdm.Functions.Invocation;

/// <summary>
/// Reads an Event Hubs trigger invocation (cardinality many, dataType string) as the host sends it: the bodies in
/// <c>Data.&lt;binding&gt;</c>, and per-event arrays in Metadata, where index i belongs to event i. The device id
/// comes from the IoT Hub system property the hub set after authenticating the device, never from the body.
/// </summary>
internal static class EventHubBatch
{
    public static IReadOnlyList<IncomingEvent> Read(JsonElement invocation, string bindingName)
    {
        var data = invocation.GetProperty("Data");
        var bodies = HostValue.Unwrap(data.GetProperty(bindingName));
        if (bodies.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidInvocationException($"Data.{bindingName} is not an array of events (got {bodies.ValueKind})");
        }

        var metadata = invocation.TryGetProperty("Metadata", out var m) ? m : default;
        var system = MetadataArray(metadata, "SystemPropertiesArray");
        var application = MetadataArray(metadata, "PropertiesArray");
        var enqueued = MetadataArray(metadata, "EnqueuedTimeUtcArray");
        var sequence = MetadataArray(metadata, "SequenceNumberArray");
        var partition = metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("PartitionContext", out var pc)
            && HostValue.Unwrap(pc) is { ValueKind: JsonValueKind.Object } context
            && context.TryGetProperty("PartitionId", out var id) ? HostValue.AsText(id) : null;

        var events = new List<IncomingEvent>(bodies.GetArrayLength());
        var i = 0;
        foreach (var body in bodies.EnumerateArray())
        {
            var props = At(system, i);
            events.Add(new IncomingEvent
            {
                Body = HostValue.AsText(body),
                DeviceId = Text(props, "iothub-connection-device-id"),
                ModuleId = Text(props, "iothub-connection-module-id"),
                MessageId = Text(props, "message-id"),
                TraceParent = Text(At(application, i), IngestActivities.TraceParentProperty),
                EnqueuedTime = Time(At(enqueued, i)) ?? Time(Property(props, "iothub-enqueuedtime")) ?? DateTimeOffset.UtcNow,
                SequenceNumber = At(sequence, i) is { ValueKind: JsonValueKind.Number } n ? n.GetInt64() : 0,
                PartitionId = partition,
            });
            i++;
        }
        return events;
    }

    private static JsonElement MetadataArray(JsonElement metadata, string name) =>
        metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty(name, out var value)
            ? HostValue.Unwrap(value)
            : default;

    private static JsonElement At(JsonElement array, int index) =>
        array.ValueKind == JsonValueKind.Array && index < array.GetArrayLength() ? array[index] : default;

    private static JsonElement Property(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) ? value : default;

    private static string? Text(JsonElement obj, string name) =>
        Property(obj, name) is { ValueKind: JsonValueKind.String or JsonValueKind.Number } v ? HostValue.AsText(v) : null;

    private static DateTimeOffset? Time(JsonElement value) =>
        value.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;
}

/// <summary>A request that does not have the shape the Functions host sends.</summary>
internal sealed class InvalidInvocationException(string message) : Exception(message);
