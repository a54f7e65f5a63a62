namespace Pdm.IotHub;

/// <summary>What <see cref="IEdgeDeviceRegistry.EnsureEdgeDeviceAsync"/> had to change.</summary>
public enum EdgeDeviceChange
{
    /// <summary>The device was an IoT Edge device already.</summary>
    None,

    /// <summary>The device did not exist: created with new keys.</summary>
    Created,

    /// <summary>The device existed without the IoT Edge capability; it has it now, with its keys unchanged.</summary>
    MadeEdge,
}

/// <param name="PrimaryKey">Null when the device authenticates with X.509 instead of SAS keys.</param>
public sealed record EdgeDeviceIdentity(string DeviceId, string? PrimaryKey, EdgeDeviceChange Change);

/// <summary>IoT Hub's registry as an edge gateway's deployment needs it: the edge identity and one device's manifest.</summary>
public interface IEdgeDeviceRegistry
{
    Task<EdgeDeviceIdentity> EnsureEdgeDeviceAsync(string deviceId, CancellationToken cancellationToken);

    Task ApplyConfigurationContentAsync(string deviceId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);
}
