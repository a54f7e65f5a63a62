using System.Text.Json.Serialization;
using Pdm.Telemetry;

namespace Pdm.Storage;

public sealed record Tenant(Guid Id, string Name, DateTimeOffset CreatedAt, string SettingsJson);

/// <summary>
/// What a caller may do. Tenant roles are ordered: each may do everything the one before it may (viewer reads;
/// operator also acts on alerts, replays deliveries, registers devices; admin also manages keys, rules, subscriptions
/// and machines). Platform admins manage tenants and nothing inside them. In JSON, the names of <see cref="ApiKeyRoles"/>.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ApiKeyRole>))]
public enum ApiKeyRole
{
    [JsonStringEnumMemberName("platform-admin")] PlatformAdmin,
    [JsonStringEnumMemberName("viewer")] Viewer,
    [JsonStringEnumMemberName("operator")] Operator,
    [JsonStringEnumMemberName("admin")] Admin,
}

/// <summary>An API key as listed; the key itself is never stored, only its prefix and SHA-256 hash.</summary>
/// <param name="LastUsedAt">When it last authenticated a request, to the minute (written at most once a minute).</param>
public sealed record ApiKey(
    Guid Id, Guid? TenantId, string Name, string Prefix, ApiKeyRole Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt = null);

/// <summary>Who a presented API key belongs to. TenantId is null for platform admins.</summary>
public sealed record ApiPrincipal(Guid KeyId, Guid? TenantId, ApiKeyRole Role, string Name);

public sealed record Device(Guid TenantId, string DeviceId, DateTimeOffset CreatedAt, bool Disabled);

/// <summary>The tenant a device id belongs to, as seen by ingest before any tenant is known.</summary>
public readonly record struct DeviceOwner(Guid TenantId, bool Disabled);

/// <param name="Criticality">How much the plant depends on it: LOW, MEDIUM, HIGH or CRITICAL; null when not set.</param>
/// <param name="Sensors">The sensors its scorer last saw, in order; empty before its first scored sample.</param>
public sealed record Machine(
    Guid Id, Guid TenantId, string MachineId, string? Name, string? Kind, string? FirstSeenByDevice, DateTimeOffset CreatedAt,
    string? Location = null, string? Criticality = null, IReadOnlyList<string>? Sensors = null, string? IsoClass = null);

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

/// <summary>The Microsoft Entra directory is already linked to another tenant (one directory, one tenant).</summary>
public sealed class EntraTenantTakenException(Guid entraTenantId)
    : StorageConflictException($"Entra tenant {entraTenantId} is already linked to another tenant.")
{
    public Guid EntraTenantId { get; } = entraTenantId;
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

/// <summary>One entry of a tenant's audit log: who did what to which resource.</summary>
/// <param name="DetailsJson">A JSON document with whatever else explains the action, or null.</param>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string Target, string? DetailsJson);

/// <summary>Filters of <see cref="TenantStore.ListAuditAsync"/>; AfterAt/AfterId are the last entry of the previous page.</summary>
/// <summary>
/// One keyset page of a list: rows in [<see cref="From"/>, <see cref="To"/>) (on the list's time, when it has one), after
/// the row <see cref="AfterAt"/>/<see cref="AfterId"/> in the list's order, <see cref="Limit"/> at most. The caller checks
/// that <see cref="AfterId"/> has the list's id type.
/// </summary>
public sealed record PageRequest
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public DateTimeOffset? AfterAt { get; init; }
    public string? AfterId { get; init; }
    public required int Limit { get; init; }
}

public sealed record AuditQuery
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public string? Actor { get; init; }
    public string? Action { get; init; }
    public DateTimeOffset? AfterAt { get; init; }
    public long? AfterId { get; init; }
    public required int Limit { get; init; }
}

/// <summary>The changes a PATCH of a machine makes: a null property is left as it is; Clear* properties empty one.</summary>
public sealed record MachineChanges
{
    public string? Name { get; init; }
    public string? Kind { get; init; }
    public string? Location { get; init; }
    public string? Criticality { get; init; }
    public string? IsoClass { get; init; }
    public IReadOnlySet<string> Cleared { get; init; } = new HashSet<string>();
}

/// <summary>A machine kind in a tenant: how many of its machines have it, and how many registered models are made for it.</summary>
/// <param name="IsoClass">The ISO 10816 class its machines are judged by (unless a machine names its own).</param>
/// <param name="IsoClassSource">Where that class comes from: <c>tenant</c> (set for this tenant), <c>built-in</c> (the
/// kind is one of the twin's six) or <c>default</c>.</param>
public sealed record MachineKindCount(string Kind, int Machines, int Models, string IsoClass = Telemetry.IsoZoneClasses.Default,
    string IsoClassSource = "default");
