using Npgsql;
using Pdm.LocalStack;
using Pdm.Telemetry;

namespace Pdm.Storage.Tests;

/// <summary>One throwaway PostgreSQL cluster for the collection, provisioned and migrated like a local stack.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string AppPassword = "pdm-app-test-password";
    private readonly string _stateDirectory =
        Path.Combine(Path.GetTempPath(), "pdm-storage-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public PostgresServer Server { get; private set; } = null!;
    public DatabaseConnectionStrings ConnectionStrings { get; private set; } = null!;
    public MigrationReport FirstMigration { get; private set; } = null!;
    public PdmStores Stores { get; private set; } = null!;

    /// <summary>Superuser on the pdm database: sees past row-level security, for checking what is really stored.</summary>
    public string SuperuserConnectionString =>
        new NpgsqlConnectionStringBuilder(Server.SuperuserConnectionString) { Database = "pdm" }.ConnectionString;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Server = new PostgresServer(_stateDirectory, FreePort.Pick());
        await Server.StartAsync(timeout.Token);
        ConnectionStrings = await DatabaseSetup.EnsureDatabaseAndRolesAsync(
            Server.SuperuserConnectionString, "pdm", AppPassword, timeout.Token);
        FirstMigration = await DatabaseMigrator.MigrateAsync(ConnectionStrings.OwnerConnectionString, new MigrationOptions(), timeout.Token);
        Stores = PdmStores.Create(ConnectionStrings.AppConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (Stores is not null)
        {
            await Stores.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    public async Task<Tenant> NewTenantAsync(string label) =>
        await Stores.Tenants.CreateTenantAsync($"{label}-{Guid.NewGuid():N}", CancellationToken.None);

    public async Task<T> ScalarAsync<T>(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static MachineSample Sample(string machineId, DateTimeOffset timestamp, long sequence,
        params (string Sensor, double Value)[] values) => new()
    {
        MachineId = machineId,
        Timestamp = timestamp,
        Sequence = sequence,
        Values = [.. values.Select(v => new SensorValue(v.Sensor, v.Value))],
    };
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
