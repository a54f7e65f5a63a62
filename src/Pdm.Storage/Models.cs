using Pdm.Telemetry;

namespace Pdm.Storage;

public sealed record Tenant(Guid Id, string Name, DateTimeOffset CreatedAt, string SettingsJson);

public enum ApiKeyRole
{
    PlatformAdmin,
    TenantAdmin,
    TenantReader,
    DeviceProvisioner,
}

/// <summary>An API key as listed; the key itself is never stored, only its prefix and SHA-256 hash.</summary>
public sealed record ApiKey(
    Guid Id, Guid? TenantId, string Name, string Prefix, ApiKeyRole Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>Who a presented API key belongs to. TenantId is null for platform admins.</summary>
public sealed record ApiPrincipal(Guid KeyId, Guid? TenantId, ApiKeyRole Role, string Name);

public sealed record Device(Guid TenantId, string DeviceId, DateTimeOffset CreatedAt, bool Disabled);

/// <summary>The tenant a device id belongs to, as seen by ingest before any tenant is known.</summary>
public readonly record struct DeviceOwner(Guid TenantId, bool Disabled);

public sealed record Machine(
    Guid Id, Guid TenantId, string MachineId, string? Name, string? Kind, string? FirstSeenByDevice, DateTimeOffset CreatedAt);

public readonly record struct Reading(string MachineId, string Sensor, DateTimeOffset Timestamp, double Value, long Sequence);

/// <summary>The samples one device sent, attributed to the tenant that owns the device.</summary>
public sealed record TenantBatch(Guid TenantId, string DeviceId, IReadOnlyList<MachineSample> Samples);

/// <param name="ValuesInserted">Sensor values stored by this call.</param>
/// <param name="ValuesDuplicate">Sensor values already stored (same tenant, machine, sensor and timestamp): replays.</param>
/// <param name="MachinesCreated">Machine ids seen for the first time and registered for their tenant.</param>
public readonly record struct IngestWriteResult(long ValuesInserted, long ValuesDuplicate, int MachinesCreated)
{
    /// <summary>Anomaly scores stored with the readings (when the write scored them).</summary>
    public long ScoresInserted { get; init; }

    /// <summary>Alert events stored with the readings (when the write evaluated alert rules).</summary>
    public long AlertEvents { get; init; }

    /// <summary>Outbox rows (notifying alert events) stored with the readings: what a publisher has to send after the commit.</summary>
    public long AlertOutbox { get; init; }
}

/// <summary>
/// A message that failed validation, kept whole with its reasons. <paramref name="MessageKey"/> is deterministic
/// (for example hub partition + sequence number) so a replayed message is stored once.
/// </summary>
/// <param name="TenantId">Null when the device is unknown; such rows are only visible to the platform.</param>
/// <param name="Payload">The body as text; NULs and lone surrogates are escaped when stored (<see cref="PostgresText"/>).</param>
public sealed record RejectedMessage(
    Guid? TenantId,
    string DeviceId,
    DateTimeOffset ReceivedAt,
    string MessageKey,
    IReadOnlyList<DecodeError> Errors,
    string Payload,
    string Source)
{
    /// <summary>
    /// Set when <see cref="Payload"/> is not the whole original (escaped, or truncated because it was too large):
    /// the name of the blob in the reject container that holds the original bytes.
    /// </summary>
    public string? PayloadBlob { get; init; }
}

public sealed record StoredReject(
    long Id,
    Guid? TenantId,
    string DeviceId,
    DateTimeOffset ReceivedAt,
    string MessageKey,
    IReadOnlyList<DecodeError> Errors,
    string Payload,
    string Source)
{
    /// <inheritdoc cref="RejectedMessage.PayloadBlob"/>
    public string? PayloadBlob { get; init; }
}

/// <summary>A write that conflicts with data the caller may not see or change (maps to HTTP 409).</summary>
public abstract class StorageConflictException : Exception
{
    protected StorageConflictException(string message) : base(message)
    {
    }
}

/// <summary>The device id is already registered to another tenant (device ids are globally unique).</summary>
public sealed class DeviceIdTakenException : StorageConflictException
{
    public DeviceIdTakenException(string deviceId)
        : base($"Device id '{deviceId}' is already registered to another tenant.")
    {
        DeviceId = deviceId;
    }

    public string DeviceId { get; }
}

public sealed class TenantNameTakenException : StorageConflictException
{
    public TenantNameTakenException(string name)
        : base($"A tenant named '{name}' already exists.")
    {
        Name = name;
    }

    public string Name { get; }
}
