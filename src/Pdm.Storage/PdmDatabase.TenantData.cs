using System.Buffers;
using System.Text.Json;
using Npgsql;
using Pdm.Telemetry;

namespace Pdm.Storage;

public sealed partial class PdmDatabase
{
    private const string DeviceColumns = "tenant_id, device_id, created_at, disabled";
    private const string MachineColumns = "id, tenant_id, machine_id, name, kind, first_seen_by_device, created_at";
    private const string RejectColumns = "id, tenant_id, device_id, received_at, message_key, errors::text, payload, source, payload_blob";

    /// <summary>
    /// Registers a device id for a tenant. Registering a device the tenant already has returns it unchanged.
    /// </summary>
    /// <exception cref="DeviceIdTakenException">Another tenant owns the device id.</exception>
    public async Task<Device> RegisterDeviceAsync(Guid tenantId, string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceId);
        _deviceCache.TryRemove(deviceId, out _);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
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
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {DeviceColumns} FROM pdm.devices ORDER BY device_id");
            return await ReadAllAsync(command, MapDevice, cancellationToken);
        }, cancellationToken);

    /// <summary>Removes the tenant's device; false when the tenant has no such device.</summary>
    public async Task<bool> DeleteDeviceAsync(Guid tenantId, string deviceId, CancellationToken cancellationToken)
    {
        _deviceCache.TryRemove(deviceId, out _);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
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
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "UPDATE pdm.devices SET disabled = $2 WHERE device_id = $1", deviceId, disabled);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<Machine>> ListMachinesAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {MachineColumns} FROM pdm.machines ORDER BY machine_id");
            return await ReadAllAsync(command, MapMachine, cancellationToken);
        }, cancellationToken);

    /// <param name="machineId">The external machine id, as it appears in telemetry.</param>
    public async Task<Machine?> GetMachineAsync(Guid tenantId, string machineId, CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {MachineColumns} FROM pdm.machines WHERE machine_id = $1", machineId);
            return await ReadFirstAsync(command, MapMachine, cancellationToken);
        }, cancellationToken);

    /// <summary>Creates the machine or sets its name and kind.</summary>
    public async Task<Machine> UpsertMachineAsync(Guid tenantId, string machineId, string? name, string? kind,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(machineId);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                INSERT INTO pdm.machines (tenant_id, machine_id, name, kind) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, machine_id) DO UPDATE SET name = excluded.name, kind = excluded.kind
                RETURNING {MachineColumns}
                """, tenantId, machineId, name, kind);
            return (await ReadFirstAsync(command, MapMachine, cancellationToken))!;
        }, cancellationToken);
    }

    /// <summary>Values of one machine in [from, to), oldest first, optionally for one sensor.</summary>
    public async Task<IReadOnlyList<Reading>> QueryReadingsAsync(Guid tenantId, string machineId, DateTimeOffset from,
        DateTimeOffset to, string? sensor, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // Two statements rather than "$4 IS NULL OR sensor = $4", so both use the primary key index well.
        var sql = sensor is null
            ? """
              SELECT machine_id, sensor, ts, value, seq FROM pdm.readings
              WHERE machine_id = $1 AND ts >= $2 AND ts < $3
              ORDER BY ts, sensor LIMIT $4
              """
            : """
              SELECT machine_id, sensor, ts, value, seq FROM pdm.readings
              WHERE machine_id = $1 AND ts >= $2 AND ts < $3 AND sensor = $5
              ORDER BY ts, sensor LIMIT $4
              """;
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = sensor is null
                ? Command(connection, transaction, sql, machineId, from.ToUniversalTime(), to.ToUniversalTime(), limit)
                : Command(connection, transaction, sql, machineId, from.ToUniversalTime(), to.ToUniversalTime(), limit, sensor);
            return await ReadAllAsync(command, reader => new Reading(reader.GetString(0), reader.GetString(1),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetDouble(3), reader.GetInt64(4)), cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Number of stored values of the tenant (exact; meant for demo progress, not dashboards).</summary>
    public async Task<long> CountReadingsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "SELECT count(*) FROM pdm.readings");
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);

    /// <summary>
    /// Stores rejected messages; a message key already stored is skipped, so replays are harmless. Rows without a
    /// tenant go through the platform function. Returns how many were newly stored. Text PostgreSQL refuses (NUL,
    /// lone surrogates) is escaped first (<see cref="PostgresText"/>), so a message's content cannot fail the write.
    /// </summary>
    public async Task<int> WriteRejectsAsync(IReadOnlyList<RejectedMessage> rejects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rejects);
        if (rejects.Count == 0)
        {
            return 0;
        }
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = 0;
        foreach (var group in rejects.GroupBy(r => r.TenantId))
        {
            if (group.Key is { } tenantId)
            {
                await SetTenantAsync(connection, transaction, tenantId, cancellationToken);
            }
            foreach (var reject in group)
            {
                var values = new object?[]
                {
                    PostgresText.Escape(reject.DeviceId), reject.ReceivedAt.ToUniversalTime(), PostgresText.Escape(reject.MessageKey),
                    ErrorsToJson(reject.Errors), PostgresText.Escape(reject.Payload), PostgresText.Escape(reject.Source),
                    reject.PayloadBlob is null ? null : PostgresText.Escape(reject.PayloadBlob),
                };
                if (group.Key is { } tenant)
                {
                    await using var insert = Command(connection, transaction, """
                        INSERT INTO pdm.rejected_messages (tenant_id, device_id, received_at, message_key, errors, payload, source, payload_blob)
                        VALUES ($8, $1, $2, $3, $4::jsonb, $5, $6, $7)
                        ON CONFLICT (message_key) DO NOTHING
                        """, [.. values, tenant]);
                    stored += await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                else
                {
                    await using var insert = Command(connection, transaction,
                        "SELECT pdm.write_unattributed_reject($1, $2, $3, $4::jsonb, $5, $6, $7)", values);
                    stored += (bool)(await insert.ExecuteScalarAsync(cancellationToken))! ? 1 : 0;
                }
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    public async Task<IReadOnlyList<StoredReject>> ListRejectsAsync(Guid tenantId, DateTimeOffset? from, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {RejectColumns} FROM pdm.rejected_messages
                WHERE $1::timestamptz IS NULL OR received_at >= $1
                ORDER BY received_at DESC, id DESC LIMIT $2
                """, from?.ToUniversalTime(), limit);
            return await ReadAllAsync(command, reader => new StoredReject(
                reader.GetInt64(0), NullableValue<Guid>(reader, 1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetString(4), ErrorsFromJson(reader.GetString(5)),
                reader.GetString(6), reader.GetString(7)) { PayloadBlob = NullableString(reader, 8) }, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Appends to the audit log: a tenant's log, or the platform's when <paramref name="tenantId"/> is null.</summary>
    /// <param name="detailsJson">Optional JSON document with whatever else explains the action.</param>
    public async Task WriteAuditAsync(Guid? tenantId, string actor, string action, string target, string? detailsJson,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(action);
        ArgumentNullException.ThrowIfNull(target);
        if (tenantId is not { } tenant)
        {
            await using var platform = PlatformCommand("SELECT pdm.write_platform_audit($1, $2, $3, $4::jsonb)",
                actor, action, target, detailsJson);
            await platform.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        await InTenantAsync(tenant, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "INSERT INTO pdm.audit_log (tenant_id, actor, action, target, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
                tenant, actor, action, target, detailsJson);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static string ErrorsToJson(IReadOnlyList<DecodeError> errors)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var error in errors)
            {
                writer.WriteStartObject();
                // jsonb refuses \u0000 as much as text refuses NUL.
                writer.WriteString("path", PostgresText.Escape(error.Path));
                writer.WriteString("reason", PostgresText.Escape(error.Reason));
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<DecodeError> ErrorsFromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(e => new DecodeError(
            e.GetProperty("path").GetString() ?? "", e.GetProperty("reason").GetString() ?? ""))];
    }

    private static Device MapDevice(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3));

    private static Machine MapMachine(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), NullableString(reader, 3), NullableString(reader, 4),
            NullableString(reader, 5), reader.GetFieldValue<DateTimeOffset>(6));
}
