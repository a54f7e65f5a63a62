namespace Pdm.IotHub;

/// <summary>A device identity and the symmetric key it authenticates with (SAS tokens in Azure, the MQTT password locally).</summary>
public sealed record DeviceIdentity(string DeviceId, string PrimaryKey);

/// <summary>
/// Where device identities live: IoT Hub's registry (<see cref="IotHubRegistryClient"/>; locally the stand-in of its REST
/// API, which keeps devices in the local broker's password and ACL files).
/// </summary>
public interface IDeviceIdentityRegistry
{
    /// <summary>
    /// Creates the device, or gives an existing one new keys, and returns the new primary key. Keys are always new
    /// because the local broker stores only a hash and could not return an existing key.
    /// </summary>
    Task<DeviceIdentity> CreateOrUpdateAsync(string deviceId, CancellationToken cancellationToken);

    /// <summary>Removes the device; removing a device that does not exist is not an error.</summary>
    Task DeleteAsync(string deviceId, CancellationToken cancellationToken);
}
