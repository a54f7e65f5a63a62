using Npgsql;
using Pdm.Telemetry;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>The machines of each tenant: registered by ingest when their first values arrive, described by the API.</summary>
public sealed class MachineStore(NpgsqlDataSource dataSource)
{
    // The sensors come from the scorer's state (one row per machine, written as samples are scored): no scan of readings.
    private const string MachineColumns =
        "m.id, m.tenant_id, m.machine_id, m.name, m.kind, m.first_seen_by_device, m.created_at, m.location, m.criticality, s.sensors, m.iso_class";

    private const string MachineFrom =
        "pdm.machines m LEFT JOIN pdm.scorer_states s ON s.tenant_id = m.tenant_id AND s.machine_id = m.machine_id COLLATE \"C\"";

    /// <summary>Criticality values, least first.</summary>
    public static IReadOnlyList<string> Criticalities { get; } = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

    public async Task<IReadOnlyList<Machine>> ListMachinesAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await ListMachinesAsync(tenantId, null, int.MaxValue, cancellationToken);

    /// <summary>A page of machines by machine id: those after <paramref name="afterMachineId"/>, <paramref name="limit"/> at most.</summary>
    public async Task<IReadOnlyList<Machine>> ListMachinesAsync(Guid tenantId, string? afterMachineId, int limit,
        CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {MachineColumns} FROM {MachineFrom}
                WHERE ($1::text IS NULL OR m.machine_id > $1 COLLATE "C")
                ORDER BY m.machine_id COLLATE "C" LIMIT $2
                """, afterMachineId, (long)limit);
            return await ReadAllAsync(command, MapMachine, cancellationToken);
        }, cancellationToken);

    /// <param name="machineId">The external machine id, as it appears in telemetry.</param>
    public async Task<Machine?> GetMachineAsync(Guid tenantId, string machineId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {MachineColumns} FROM {MachineFrom} WHERE m.machine_id = $1", machineId);
            return await ReadFirstAsync(command, MapMachine, cancellationToken);
        }, cancellationToken);

    /// <summary>Creates the machine or sets its name and kind.</summary>
    public async Task<Machine> UpsertMachineAsync(Guid tenantId, string machineId, string? name, string? kind,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(machineId);
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO pdm.machines (tenant_id, machine_id, name, kind) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, machine_id) DO UPDATE SET name = excluded.name, kind = excluded.kind
                """, tenantId, machineId, name, kind);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return (await GetMachineAsync(tenantId, machineId, cancellationToken))!;
    }

    /// <summary>
    /// Applies <paramref name="changes"/> to the machine, with its row locked, if <paramref name="precondition"/> accepts
    /// the machine as it is (the API compares its ETag with If-Match).
    /// </summary>
    /// <returns>The outcome, and the machine after the change (or as it is, when the precondition failed).</returns>
    public async Task<(MachineUpdate Outcome, Machine? Machine)> UpdateMachineAsync(Guid tenantId, string machineId,
        MachineChanges changes, Func<Machine, bool> precondition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(precondition);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            Machine? current;
            await using (var read = Command(connection, transaction,
                $"SELECT {MachineColumns} FROM {MachineFrom} WHERE m.machine_id = $1 FOR UPDATE OF m", machineId))
            {
                current = await ReadFirstAsync(read, MapMachine, cancellationToken);
            }
            if (current is null)
            {
                return (MachineUpdate.NotFound, (Machine?)null);
            }
            if (!precondition(current))
            {
                return (MachineUpdate.PreconditionFailed, current);
            }
            var updated = current with
            {
                Name = Pick(changes.Name, current.Name, changes.Cleared.Contains("name")),
                Kind = Pick(changes.Kind, current.Kind, changes.Cleared.Contains("kind")),
                Location = Pick(changes.Location, current.Location, changes.Cleared.Contains("location")),
                Criticality = Pick(changes.Criticality, current.Criticality, changes.Cleared.Contains("criticality")),
                IsoClass = Pick(changes.IsoClass, current.IsoClass, changes.Cleared.Contains("isoClass")),
            };
            await using var write = Command(connection, transaction,
                "UPDATE pdm.machines SET name = $2, kind = $3, location = $4, criticality = $5, iso_class = $6 WHERE machine_id = $1",
                machineId, updated.Name, updated.Kind, updated.Location, updated.Criticality, updated.IsoClass);
            await write.ExecuteNonQueryAsync(cancellationToken);
            return (MachineUpdate.Updated, updated);
        }, cancellationToken);
    }

    /// <summary>
    /// The machine kinds of the tenant's machines, of the registered models and of the tenant's kind settings, with how
    /// many of each and the ISO 10816 class each is judged by. Models carry no machine kind of their own: it is read from
    /// the registry's naming convention "{model kind}-{machine kind}" (as in anomaly-centrifugal-pump); other names count
    /// for no kind. Models are platform-wide: a kind only models know is still listed, so a machine can be given it.
    /// </summary>
    public async Task<IReadOnlyList<MachineKindCount>> ListKindsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                WITH machine_counts AS (SELECT kind, count(*) AS n FROM pdm.machines WHERE kind IS NOT NULL GROUP BY kind),
                     model_counts AS (
                         SELECT substr(name, length(kind) + 2) AS kind, count(DISTINCT name) AS n FROM pdm.models
                         WHERE starts_with(name, kind || '-') AND length(name) > length(kind) + 1
                         GROUP BY 1),
                     kinds AS (SELECT kind FROM machine_counts UNION SELECT kind FROM model_counts UNION SELECT kind FROM pdm.machine_kinds)
                SELECT k.kind, coalesce(m.n, 0)::int, coalesce(d.n, 0)::int, s.iso_class
                FROM kinds k LEFT JOIN machine_counts m ON m.kind = k.kind LEFT JOIN model_counts d ON d.kind = k.kind
                     LEFT JOIN pdm.machine_kinds s ON s.kind = k.kind
                ORDER BY 1
                """);
            return await ReadAllAsync(command, reader => KindOf(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), NullableString(reader, 3)),
                cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Sets the ISO 10816 class the tenant's machines of <paramref name="kind"/> are judged by; null goes back to the
    /// built-in class (or the default). Returns the kind as listed afterwards.
    /// </summary>
    public async Task<MachineKindCount> SetKindIsoClassAsync(Guid tenantId, string kind, string? isoClass, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = isoClass is null
                ? Command(connection, transaction, "DELETE FROM pdm.machine_kinds WHERE kind = $1", kind)
                : Command(connection, transaction, """
                    INSERT INTO pdm.machine_kinds (tenant_id, kind, iso_class) VALUES ($1, $2, $3)
                    ON CONFLICT (tenant_id, kind) DO UPDATE SET iso_class = excluded.iso_class, updated_at = now()
                    """, tenantId, kind, isoClass);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return (await ListKindsAsync(tenantId, cancellationToken)).FirstOrDefault(k => k.Kind == kind) ?? KindOf(kind, 0, 0, null);
    }

    private static MachineKindCount KindOf(string kind, int machines, int models, string? tenantClass) =>
        tenantClass is not null ? new(kind, machines, models, tenantClass, "tenant")
        : IsoZoneClasses.BuiltInFor(kind) is { } builtIn ? new(kind, machines, models, builtIn, "built-in")
        : new(kind, machines, models);

    private static string? Pick(string? change, string? current, bool clear) => clear ? null : change ?? current;

    private static Machine MapMachine(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), NullableString(reader, 3), NullableString(reader, 4),
            NullableString(reader, 5), reader.GetFieldValue<DateTimeOffset>(6), NullableString(reader, 7), NullableString(reader, 8),
            reader.IsDBNull(9) ? [] : reader.GetFieldValue<string[]>(9), NullableString(reader, 10));
}

public enum MachineUpdate
{
    Updated,
    NotFound,
    PreconditionFailed,
}
