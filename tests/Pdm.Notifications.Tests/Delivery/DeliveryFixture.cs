using Npgsql;
using Pdm.AzureStorage;
using Pdm.Storage;

namespace Pdm.Notifications.Tests.Delivery;

/// <summary>
/// PostgreSQL (provisioned and migrated like a local stack) and Azurite on free loopback ports, shared by the delivery
/// tests; each test takes its own tenant, queue and attempt table.
/// </summary>
public sealed class DeliveryFixture : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"pdm-delivery-tests-{Guid.NewGuid():N}");
    private PostgresServer? _postgres;
    private AzuriteServer? _azurite;

    public PdmStores Stores { get; private set; } = null!;

    public StorageClients Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = new PostgresServer(Path.Combine(_stateDirectory, "pg"), FreePort.Pick());
        await _postgres.StartAsync(timeout.Token);
        var connections = await DatabaseSetup.EnsureDatabaseAndRolesAsync(_postgres.SuperuserConnectionString, "pdm", "pdm-app-test-password", timeout.Token);
        await DatabaseMigrator.MigrateAsync(connections.OwnerConnectionString, new MigrationOptions(), timeout.Token);
        Stores = PdmStores.Create(connections.AppConnectionString);

        _azurite = await TestAzurite.StartAsync(Path.Combine(_stateDirectory, "azurite"));
        Storage = StorageClients.FromConnectionString(_azurite.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (Stores is not null)
        {
            await Stores.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DeliveryCollectionDefinition : ICollectionFixture<DeliveryFixture>
{
    public const string Name = "Deliveries on PostgreSQL and Azurite";
}
