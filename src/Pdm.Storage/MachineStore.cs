using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>The machines of each tenant: registered by ingest when their first values arrive, named by the API.</summary>
public sealed class MachineStore(NpgsqlDataSource dataSource)
{
    private const string MachineColumns = "id, tenant_id, machine_id, name, kind, first_seen_by_device, created_at";

    public async Task<IReadOnlyList<Machine>> ListMachinesAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {MachineColumns} FROM pdm.machines ORDER BY machine_id");
            return await ReadAllAsync(command, MapMachine, cancellationToken);
        }, cancellationToken);

    /// <param name="machineId">The external machine id, as it appears in telemetry.</param>
    public async Task<Machine?> GetMachineAsync(Guid tenantId, string machineId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
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
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                INSERT INTO pdm.machines (tenant_id, machine_id, name, kind) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, machine_id) DO UPDATE SET name = excluded.name, kind = excluded.kind
                RETURNING {MachineColumns}
                """, tenantId, machineId, name, kind);
            return (await ReadFirstAsync(command, MapMachine, cancellationToken))!;
        }, cancellationToken);
    }

    private static Machine MapMachine(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), NullableString(reader, 3), NullableString(reader, 4),
            NullableString(reader, 5), reader.GetFieldValue<DateTimeOffset>(6));
}
