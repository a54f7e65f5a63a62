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

    private static Tenant MapTenant(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3));
}
