namespace Pdm.DevHost.Events;

/// <summary>
/// One device-to-cloud message as IoT Hub would put it on its built-in endpoint: who sent it, the body, the
/// system properties under their Event Hubs names (message-id, content-type...) and the application properties.
/// </summary>
public sealed record DeviceEvent
{
    public required string DeviceId { get; init; }
    public string? ModuleId { get; init; }
    public required ReadOnlyMemory<byte> Body { get; init; }
    public IReadOnlyDictionary<string, string> SystemProperties { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> ApplicationProperties { get; init; } = new Dictionary<string, string>();
}

/// <summary>A device event once the simulated built-in endpoint has stored it in a partition.</summary>
internal sealed record PartitionEvent
{
    public required DeviceEvent Event { get; init; }
    public required string PartitionId { get; init; }
    public required long SequenceNumber { get; init; }
    public required long Offset { get; init; }
    public required DateTime EnqueuedTimeUtc { get; init; }
}
