using System.Collections.Concurrent;
using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>
/// The devices of each tenant, and which tenant a device id belongs to (cached briefly, for ingest, which knows no
/// tenant before it asks).
/// </summary>
public sealed class DeviceStore(NpgsqlDataSource dataSource)
{
    // Short enough that a device moved or disabled by another process is honoured quickly; local changes
    // invalidate at once.
    private static readonly TimeSpan DeviceCacheTtl = TimeSpan.FromSeconds(10);
    private const int MaxCachedDevices = 100_000;

    private const string DeviceColumns = "tenant_id, device_id, created_at, disabled";

    private readonly ConcurrentDictionary<string, (DeviceOwner? Owner, long ExpiresAtMs)> _deviceCache =
        new(StringComparer.Ordinal);

    /// <summary>
    /// Registers a device id for a tenant. Registering a device the tenant already has returns it unchanged.
    /// </summary>
    /// <exception cref="DeviceIdTakenException">Another tenant owns the device id.</exception>
    public async Task<Device> RegisterDeviceAsync(Guid tenantId, string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceId);
        _deviceCache.TryRemove(deviceId, out _);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // The conflicting row of another tenant is invisible here (RLS), so a miss on both means "taken".
            await using var insert = Command(connection, transaction,
                $"INSERT INTO pdm.devices (tenant_id, device_id) VALUES ($1, $2) ON CONFLICT (device_id) DO NOTHING RETURNING {DeviceColumns}",
                tenantId, deviceId);
            var device = await ReadFirstAsync(insert, MapDevice, cancellationToken);
            if (device is not null)
            {
                return device;
            }
            await using var existing = Command(connection, transaction,
                $"SELECT {DeviceColumns} FROM pdm.devices WHERE device_id = $1", deviceId);
            return await ReadFirstAsync(existing, MapDevice, cancellationToken) ?? throw new DeviceIdTakenException(deviceId);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<Device>> ListDevicesAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await ListDevicesAsync(tenantId, new PageRequest { Limit = int.MaxValue }, cancellationToken);

    /// <summary>A page of the tenant's devices by device id (registered in From..To when given), after <c>AfterId</c>.</summary>
    public async Task<IReadOnlyList<Device>> ListDevicesAsync(Guid tenantId, PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {DeviceColumns} FROM pdm.devices
                WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
                  AND ($3::text IS NULL OR device_id > $3 COLLATE "C")
                ORDER BY device_id COLLATE "C" LIMIT $4
                """, page.From, page.To, page.AfterId, (long)page.Limit);
            return await ReadAllAsync(command, MapDevice, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Removes the tenant's device; false when the tenant has no such device.</summary>
    public async Task<bool> DeleteDeviceAsync(Guid tenantId, string deviceId, CancellationToken cancellationToken)
    {
        _deviceCache.TryRemove(deviceId, out _);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM pdm.devices WHERE device_id = $1", deviceId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    /// <summary>A disabled device keeps its id, but ingest no longer attributes its messages to the tenant.</summary>
    public async Task<bool> SetDeviceDisabledAsync(Guid tenantId, string deviceId, bool disabled,
        CancellationToken cancellationToken)
    {
        _deviceCache.TryRemove(deviceId, out _);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "UPDATE pdm.devices SET disabled = $2 WHERE device_id = $1", deviceId, disabled);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    /// <summary>The tenant that owns a device id and whether it is disabled; null when no tenant owns it.</summary>
    public async Task<DeviceOwner?> ResolveDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        var now = Environment.TickCount64;
        if (_deviceCache.TryGetValue(deviceId, out var cached) && cached.ExpiresAtMs > now)
        {
            return cached.Owner;
        }
        await using var command = dataSource.CreateCommand("SELECT tenant_id, disabled FROM pdm.resolve_device($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        DeviceOwner? owner = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                owner = new DeviceOwner(reader.GetGuid(0), reader.GetBoolean(1));
            }
        }
        if (_deviceCache.Count >= MaxCachedDevices)
        {
            _deviceCache.Clear();
        }
        _deviceCache[deviceId] = (owner, now + (long)DeviceCacheTtl.TotalMilliseconds);
        return owner;
    }

    /// <summary>The tenant ingest should attribute a device's messages to; null when the device is unknown or disabled.</summary>
    public async Task<Guid?> ResolveDeviceTenantAsync(string deviceId, CancellationToken cancellationToken) =>
        await ResolveDeviceAsync(deviceId, cancellationToken) is { Disabled: false } owner ? owner.TenantId : null;

    private static Device MapDevice(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3));
}
