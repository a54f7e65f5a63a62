using Azure.Storage.Blobs;
using Npgsql;
using Pdm.AzureStorage;
using Pdm.Prediction;
using Pdm.Storage;

namespace Pdm.Testing;

/// <summary>The local stack with one migrated database, and a registry over it as the owner (writes) and the app (reads).</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private readonly StackFixture _stack = new();

    public string OwnerConnectionString { get; private set; } = "";
    public PdmStores OwnerDatabase { get; private set; } = null!;
    public PdmStores AppDatabase { get; private set; } = null!;
    public BlobContainerClient Container { get; private set; } = null!;

    /// <summary>The Azurite account, for tests that need containers of their own.</summary>
    public StorageClients Storage { get; private set; } = null!;

    /// <summary>What the CLI uses: the owner's connection, so it may register and promote.</summary>
    public ModelRegistry Registry { get; private set; } = null!;

    /// <summary>What the function app uses: the application role, read-only.</summary>
    public ModelRegistry AppRegistry { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var database = await _stack.CreateDatabaseAsync(timeout.Token);
        OwnerConnectionString = database.OwnerConnectionString;
        OwnerDatabase = PdmStores.Create(database.OwnerConnectionString);
        AppDatabase = PdmStores.Create(database.AppConnectionString);
        Storage = StorageClients.FromConnectionString(_stack.Endpoints.StorageConnectionString);
        Container = Storage.Blobs.GetBlobContainerClient($"models-{Guid.NewGuid():N}");
        Registry = new ModelRegistry(OwnerDatabase.Models, Container);
        AppRegistry = new ModelRegistry(AppDatabase.Models, Container);
    }

    public async Task DisposeAsync()
    {
        if (OwnerDatabase is not null)
        {
            await OwnerDatabase.DisposeAsync();
        }
        if (AppDatabase is not null)
        {
            await AppDatabase.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await _stack.DisposeAsync();
    }

    public static string NewName() => $"m-{Guid.NewGuid():N}"[..20];
}
