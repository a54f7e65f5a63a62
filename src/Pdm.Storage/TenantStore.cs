using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>Tenants (platform-wide, through SECURITY DEFINER functions) and the audit log of who changed what.</summary>
public sealed class TenantStore(NpgsqlDataSource dataSource)
{
    private const string TenantColumns = "id, name, created_at, settings::text";

    /// <exception cref="TenantNameTakenException">Another tenant has this name.</exception>
    public async Task<Tenant> CreateTenantAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var command = dataSource.PlatformCommand($"SELECT {TenantColumns} FROM pdm.create_tenant($1, NULL)", name.Trim());
        return await ReadFirstAsync(command, MapTenant, cancellationToken) ?? throw new TenantNameTakenException(name.Trim());
    }

    public async Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand($"SELECT {TenantColumns} FROM pdm.list_tenants()");
        return await ReadAllAsync(command, MapTenant, cancellationToken);
    }

    /// <summary>A page of every tenant, oldest first, created in [From, To), after (AfterAt, AfterId).</summary>
    public async Task<IReadOnlyList<Tenant>> ListTenantsAsync(PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        await using var command = dataSource.PlatformCommand($"""
            SELECT {TenantColumns} FROM pdm.list_tenants()
            WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::uuid))
            ORDER BY created_at, id LIMIT $5
            """, page.From, page.To, page.AfterAt, page.AfterId, (long)page.Limit);
        return await ReadAllAsync(command, MapTenant, cancellationToken);
    }

    public async Task<Tenant?> GetTenantAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand($"SELECT {TenantColumns} FROM pdm.get_tenant($1)", tenantId);
        return await ReadFirstAsync(command, MapTenant, cancellationToken);
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
            await using var platform = dataSource.PlatformCommand("SELECT pdm.write_platform_audit($1, $2, $3, $4::jsonb)",
                actor, action, target, detailsJson);
            await platform.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        await dataSource.InTenantAsync(tenant, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "INSERT INTO pdm.audit_log (tenant_id, actor, action, target, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
                tenant, actor, action, target, detailsJson);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Links a Microsoft Entra directory (token claim <c>tid</c>) to the tenant; null unlinks it.</summary>
    /// <returns>False when the tenant does not exist.</returns>
    /// <exception cref="EntraTenantTakenException">Another tenant is linked to that directory.</exception>
    public async Task<bool> SetEntraTenantAsync(Guid tenantId, Guid? entraTenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand("SELECT pdm.set_tenant_entra_id($1, $2::uuid)", tenantId, entraTenantId);
        try
        {
            return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new EntraTenantTakenException(entraTenantId!.Value);
        }
    }

    /// <summary>The tenant linked to a Microsoft Entra directory, or null.</summary>
    public async Task<Guid?> FindByEntraTenantAsync(Guid entraTenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand("SELECT pdm.find_tenant_by_entra_id($1)", entraTenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is Guid tenant ? tenant : null;
    }

    /// <summary>
    /// The tenant's audit log, newest first: entries at or after <paramref name="query"/>'s From and before its To,
    /// by an actor and of an action when given, after the cursor entry; <c>Limit</c> rows at most.
    /// </summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(Guid tenantId, AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                SELECT id, at, actor, action, target, details::text FROM pdm.audit_log
                WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
                  AND ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR action = $4)
                  AND ($5::timestamptz IS NULL OR (at, id) < ($5, $6::bigint))
                ORDER BY at DESC, id DESC
                LIMIT $7
                """, query.From, query.To, query.Actor, query.Action, query.AfterAt, query.AfterId, query.Limit);
            return await ReadAllAsync(command, reader => new AuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1),
                reader.GetString(2), reader.GetString(3), reader.GetString(4), NullableString(reader, 5)), cancellationToken);
        }, cancellationToken);
    }

    private static Tenant MapTenant(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3));
}
