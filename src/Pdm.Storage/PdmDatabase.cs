using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Pdm.Storage;

/// <summary>
/// Data access for the application role. Tenant data is only ever touched inside a transaction that first sets
/// <c>pdm.tenant_id</c>, so row-level security decides what each call can see; cross-tenant paths (tenants, API
/// keys, device resolution, unattributed rejects) go through SECURITY DEFINER functions.
/// </summary>
public sealed partial class PdmDatabase : IAsyncDisposable
{
    // Short enough that a device moved or disabled by another process is honoured quickly; local changes
    // invalidate at once.
    private static readonly TimeSpan DeviceCacheTtl = TimeSpan.FromSeconds(10);
    private const int MaxCachedDevices = 100_000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, (DeviceOwner? Owner, long ExpiresAtMs)> _deviceCache =
        new(StringComparer.Ordinal);

    private PdmDatabase(NpgsqlDataSource dataSource, ILogger logger)
    {
        _dataSource = dataSource;
        _logger = logger;
    }

    /// <param name="appConnectionString">Connection string of the application role (pdm_app), not the owner.</param>
    public static PdmDatabase Create(string appConnectionString, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appConnectionString);
        var builder = new NpgsqlDataSourceBuilder(appConnectionString);
        // All state we set is transaction-local (set_config(..., true)), so the reset on return to the pool would
        // only throw away the ingest staging table, which is then re-created on every write.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }
        var logger = loggerFactory?.CreateLogger<PdmDatabase>() ?? (ILogger)NullLogger.Instance;
        return new PdmDatabase(builder.Build(), logger);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>Whether the database answers as the application role; for health checks.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            return await command.ExecuteScalarAsync(cancellationToken) is 1;
        }
        catch (NpgsqlException ex)
        {
            _logger.PingFailed(ex);
            return false;
        }
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
        await using var command = _dataSource.CreateCommand("SELECT tenant_id, disabled FROM pdm.resolve_device($1)");
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

    private async Task<T> InTenantAsync<T>(Guid tenantId, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work,
        CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SetTenantAsync(connection, transaction, tenantId, cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private static async Task SetTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        CancellationToken cancellationToken)
    {
        if (tenantId == Guid.Empty)
        {
            throw new ArgumentException("Tenant id must not be empty.", nameof(tenantId));
        }
        // is_local = true: the setting ends with the transaction, so a pooled connection never carries it over.
        await using var command = Command(connection, transaction, "SELECT set_config('pdm.tenant_id', $1, true)",
            tenantId.ToString());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    private NpgsqlCommand PlatformCommand(string sql, params object?[] values)
    {
        var command = _dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    private static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map,
        CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    private static async Task<T?> ReadFirstAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map,
        CancellationToken cancellationToken) where T : class
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? map(reader) : null;
    }

    private static T? NullableValue<T>(NpgsqlDataReader reader, int ordinal) where T : struct =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Database health check failed")]
    public static partial void PingFailed(this ILogger logger, Exception exception);
}
