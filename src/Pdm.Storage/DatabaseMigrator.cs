using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Pdm.Storage;

public sealed record MigrationOptions
{
    /// <summary>Role the application connects as; it gets the grants in Grants.sql. Null skips the grants.</summary>
    public string? AppRole { get; init; } = "pdm_app";

    /// <summary>Make readings a TimescaleDB hypertable when the extension is available (decided once, at creation).</summary>
    public bool UseTimescaleDbWhenAvailable { get; init; } = true;

    /// <summary>Daily reading partitions made ahead of time around now (native partitioning only).</summary>
    public int PartitionDaysBehind { get; init; } = 7;

    public int PartitionDaysAhead { get; init; } = 7;

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Apply migrations up to this version only (null: all). Lets a test build the schema as an older release left it,
    /// put that release's rows in, and then check what the next migration makes of them.
    /// </summary>
    public int? UpToVersion { get; init; }
}

public sealed record AppliedMigration(int Version, string Name, TimeSpan Duration);

/// <param name="Applied">Migrations applied by this run, in order.</param>
/// <param name="AlreadyApplied">Migrations that were already in schema_migrations with a matching checksum.</param>
/// <param name="UnknownApplied">Versions recorded in the database that this build does not have (newer code ran).</param>
/// <param name="TimescaleDb">Whether readings is a TimescaleDB hypertable.</param>
/// <param name="PartitionsCreated">Daily reading partitions created by this run.</param>
public sealed record MigrationReport(
    IReadOnlyList<AppliedMigration> Applied,
    int AlreadyApplied,
    IReadOnlyList<int> UnknownApplied,
    bool TimescaleDb,
    int PartitionsCreated);

/// <summary>
/// Applies the embedded, versioned SQL migrations (Migrations/NNNN_name.sql) in order, each in its own transaction,
/// and records them with a checksum in pdm.schema_migrations. Safe to run twice and from several processes at once
/// (a session advisory lock serializes runs). Run it as the role that should own the schema.
/// </summary>
public static partial class DatabaseMigrator
{
    // "pdm_migr" as a 64-bit advisory lock key.
    private const long AdvisoryLockKey = 0x70646D5F6D696772;
    private const string ResourcePrefix = "Pdm.Storage.Migrations.";

    public static async Task<MigrationReport> MigrateAsync(string ownerConnectionString, MigrationOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ownerConnectionString);
        ArgumentNullException.ThrowIfNull(options);
        var migrations = LoadMigrations();

        // No pooling: closing the connection must end the session, which also drops the advisory lock.
        var builder = new NpgsqlConnectionStringBuilder(ownerConnectionString)
        {
            Pooling = false,
            CommandTimeout = (int)options.CommandTimeout.TotalSeconds,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // Held until the connection closes.
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock($1)", cancellationToken, AdvisoryLockKey);
        await ExecuteAsync(connection, null, """
            CREATE SCHEMA IF NOT EXISTS pdm;
            CREATE TABLE IF NOT EXISTS pdm.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                execution_ms integer NOT NULL)
            """, cancellationToken);

        var recorded = new Dictionary<int, (string Name, string Checksum)>();
        await using (var command = new NpgsqlCommand("SELECT version, name, checksum FROM pdm.schema_migrations", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                recorded[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
            }
        }

        var applied = new List<AppliedMigration>();
        var alreadyApplied = 0;
        foreach (var migration in migrations.Where(m => options.UpToVersion is not { } last || m.Version <= last))
        {
            if (recorded.TryGetValue(migration.Version, out var existing))
            {
                if (!string.Equals(existing.Checksum, migration.Checksum, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version:D4} ({migration.Name}) was changed after it was applied: " +
                        $"database checksum {existing.Checksum}, this build {migration.Checksum}. " +
                        "Applied migrations are immutable; add a new migration instead.");
                }
                alreadyApplied++;
                continue;
            }
            applied.Add(await ApplyAsync(connection, migration, options, cancellationToken));
        }

        if (options.AppRole is not null)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, transaction, "SELECT set_config('pdm.migrate_app_role', $1, true)",
                cancellationToken, options.AppRole);
            await ExecuteAsync(connection, transaction, ReadResource("Grants.sql"), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        var now = DateTimeOffset.UtcNow;
        var partitionsCreated = Convert.ToInt32(await ScalarAsync(connection,
            "SELECT pdm.ensure_reading_partitions($1, $2)", cancellationToken,
            now.AddDays(-options.PartitionDaysBehind), now.AddDays(options.PartitionDaysAhead)), CultureInfo.InvariantCulture);
        var timescale = (bool)(await ScalarAsync(connection,
            "SELECT NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'pdm.readings'::regclass)",
            cancellationToken))!;
        var known = migrations.Select(m => m.Version).ToHashSet();
        var unknown = recorded.Keys.Where(v => !known.Contains(v)).Order().ToList();
        return new MigrationReport(applied, alreadyApplied, unknown, timescale, partitionsCreated);
    }

    private static async Task<AppliedMigration> ApplyAsync(NpgsqlConnection connection, Migration migration,
        MigrationOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "SELECT set_config('pdm.migrate_timescaledb', $1, true)",
            cancellationToken, options.UseTimescaleDbWhenAvailable ? "auto" : "off");
        try
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException(
                $"Migration {migration.Version:D4} ({migration.Name}) failed: {ex.MessageText}" +
                (ex.Where is null ? "" : $" (at {ex.Where})"), ex);
        }
        await ExecuteAsync(connection, transaction,
            "INSERT INTO pdm.schema_migrations (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)",
            cancellationToken, migration.Version, migration.Name, migration.Checksum, (int)stopwatch.ElapsedMilliseconds);
        await transaction.CommitAsync(cancellationToken);
        return new AppliedMigration(migration.Version, migration.Name, stopwatch.Elapsed);
    }

    private sealed record Migration(int Version, string Name, string Sql, string Checksum);

    private static List<Migration> LoadMigrations()
    {
        var migrations = new List<Migration>();
        foreach (var resource in typeof(DatabaseMigrator).Assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }
            var fileName = resource[ResourcePrefix.Length..];
            var match = MigrationFileName().Match(fileName);
            if (!match.Success)
            {
                continue;
            }
            var sql = ReadResource(fileName);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture), match.Groups["name"].Value, sql, checksum));
        }
        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two migrations share version {duplicate.Key:D4}.");
        }
        return [.. migrations.OrderBy(m => m.Version)];
    }

    private static string ReadResource(string fileName)
    {
        using var stream = typeof(DatabaseMigrator).Assembly.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"Embedded SQL resource {fileName} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        // Checksums must not depend on the line endings of the checkout.
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql,
        CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$")]
    private static partial Regex MigrationFileName();
}
