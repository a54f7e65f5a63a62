using Npgsql;

namespace Pdm.Storage;

/// <param name="OwnerConnectionString">Connects as the schema owner: run migrations with it.</param>
/// <param name="AppConnectionString">Connects as the application role (no ownership, no BYPASSRLS): give it to <see cref="StorageServiceCollectionExtensions.AddPdmStorage(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Action{NpgsqlDataSourceBuilder}?)"/>.</param>
public sealed record DatabaseConnectionStrings(string OwnerConnectionString, string AppConnectionString);

/// <summary>
/// Local/dev provisioning with a superuser: the database, the owner role and the application role. In Azure the
/// same roles are made by the Entra administrator; this class is for the local stack and tests.
/// </summary>
public static class DatabaseSetup
{
    public const string OwnerRole = "pdm_owner";
    public const string AppRole = "pdm_app";

    /// <summary>
    /// Creates (or brings back in line) the database, <c>pdm_owner</c> (NOLOGIN, owns the database and everything in it)
    /// and <c>pdm_app</c> (LOGIN, NOSUPERUSER, NOBYPASSRLS, owns nothing). The owner connection string is the
    /// superuser's with <c>role=pdm_owner</c> as a session setting, so objects it creates belong to pdm_owner.
    /// </summary>
    public static async Task<DatabaseConnectionStrings> EnsureDatabaseAndRolesAsync(string superuserConnectionString,
        string databaseName, string appRolePassword, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(superuserConnectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseName);
        ArgumentException.ThrowIfNullOrWhiteSpace(appRolePassword);

        var superuser = new NpgsqlConnectionStringBuilder(superuserConnectionString) { Pooling = false };
        await using (var connection = new NpgsqlConnection(superuser.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            if (!await ExistsAsync(connection, "SELECT 1 FROM pg_roles WHERE rolname = $1", OwnerRole, cancellationToken))
            {
                await ExecuteFormattedAsync(connection, "CREATE ROLE %I NOLOGIN", cancellationToken, OwnerRole);
            }
            if (!await ExistsAsync(connection, "SELECT 1 FROM pg_roles WHERE rolname = $1", AppRole, cancellationToken))
            {
                await ExecuteFormattedAsync(connection, "CREATE ROLE %I", cancellationToken, AppRole);
            }
            // Re-asserted every time so a role created by hand cannot keep more rights than it should.
            await ExecuteFormattedAsync(connection,
                "ALTER ROLE %I WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT PASSWORD %L",
                cancellationToken, AppRole, appRolePassword);
            if (!await ExistsAsync(connection, "SELECT 1 FROM pg_database WHERE datname = $1", databaseName, cancellationToken))
            {
                await ExecuteFormattedAsync(connection,
                    "CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING 'UTF8'",
                    cancellationToken, databaseName, OwnerRole);
            }
            await ExecuteFormattedAsync(connection, "REVOKE ALL ON DATABASE %I FROM PUBLIC", cancellationToken, databaseName);
            await ExecuteFormattedAsync(connection, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", cancellationToken,
                databaseName, AppRole);
        }

        var owner = new NpgsqlConnectionStringBuilder(superuserConnectionString)
        {
            Database = databaseName,
            Options = "-c role=" + OwnerRole,
        };
        var app = new NpgsqlConnectionStringBuilder
        {
            Host = superuser.Host,
            Port = superuser.Port,
            Database = databaseName,
            Username = AppRole,
            Password = appRolePassword,
        };
        return new DatabaseConnectionStrings(owner.ConnectionString, app.ConnectionString);
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string sql, string value,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    // DDL takes no bind parameters: the server quotes identifiers (%I) and literals (%L) with format().
    private static async Task ExecuteFormattedAsync(NpgsqlConnection connection, string template,
        CancellationToken cancellationToken, params string[] values)
    {
        await using var format = new NpgsqlCommand(
            "SELECT format($1" + string.Concat(values.Select((_, i) => $", ${i + 2}")) + ")", connection);
        format.Parameters.Add(new NpgsqlParameter { Value = template });
        foreach (var value in values)
        {
            format.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        var statement = (string)(await format.ExecuteScalarAsync(cancellationToken))!;
        await using var command = new NpgsqlCommand(statement, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
