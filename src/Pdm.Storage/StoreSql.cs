using Npgsql;

namespace Pdm.Storage;

/// <summary>
/// What every store shares: the tenant-scoped transaction, commands with positional parameters, row reading and the
/// optimistic idempotent insert. Tenant data is only ever touched inside a transaction that first sets
/// <c>pdm.tenant_id</c>, so row-level security decides what each call can see; cross-tenant paths (tenants, API
/// keys, device resolution, unattributed rejects) go through SECURITY DEFINER functions.
/// </summary>
internal static class StoreSql
{
    /// <summary>Runs <paramref name="work"/> in a transaction of its own with the tenant set, and commits it.</summary>
    public static async Task<T> InTenantAsync<T>(this NpgsqlDataSource dataSource, Guid tenantId,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SetTenantAsync(connection, transaction, tenantId, cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Makes <paramref name="tenantId"/> the tenant row-level security checks for the rest of the transaction.</summary>
    public static async Task SetTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
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

    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    /// <summary>A command outside any tenant: for the SECURITY DEFINER functions and platform-wide tables.</summary>
    public static NpgsqlCommand PlatformCommand(this NpgsqlDataSource dataSource, string sql, params object?[] values)
    {
        var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    public static NpgsqlBatchCommand BatchCommand(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    /// <summary>
    /// Runs <paramref name="insertSql"/> as a plain insert; if it hits a row already stored, runs it again with
    /// ON CONFLICT DO NOTHING. Optimistic: a first delivery has no duplicates, and a plain insert costs far less than
    /// INSERT .. ON CONFLICT (speculative insertion per row). When a value is already stored (a replay, or a duplicate
    /// inside the batch) the plain insert fails, is rolled back to the savepoint, and the idempotent insert runs
    /// instead. The server logs that unique violation; it is expected. Returns the rows inserted.
    /// </summary>
    public static async Task<int> InsertOptimisticallyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string insertSql, object?[] values, CancellationToken cancellationToken)
    {
        const string Savepoint = "pdm_plain_insert";
        await transaction.SaveAsync(Savepoint, cancellationToken);
        try
        {
            await using var plain = Command(connection, transaction, insertSql, values);
            var rows = await plain.ExecuteNonQueryAsync(cancellationToken);
            await transaction.ReleaseAsync(Savepoint, cancellationToken);
            return rows;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await transaction.RollbackAsync(Savepoint, cancellationToken);
        }
        await using var idempotent = Command(connection, transaction, insertSql + "\nON CONFLICT DO NOTHING", values);
        return await idempotent.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map,
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

    public static async Task<T?> ReadFirstAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map,
        CancellationToken cancellationToken) where T : class
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? map(reader) : null;
    }

    public static T? NullableValue<T>(NpgsqlDataReader reader, int ordinal) where T : struct =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);

    public static string? NullableString(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
