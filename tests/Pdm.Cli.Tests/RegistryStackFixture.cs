using Npgsql;
using Pdm.AzureStorage;
using Pdm.Prediction;
using Pdm.Storage;
using Pdm.Testing;

namespace Pdm.Cli.Tests;

/// <summary>The local stack with one migrated database; the registry options the CLI takes for it; twin data files.</summary>
public sealed class RegistryStackFixture : IAsyncLifetime
{
    private readonly StackFixture _stack = new();

    public string OwnerConnectionString { get; private set; } = "";
    public string StorageConnectionString => _stack.Endpoints.StorageConnectionString;
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"pdm-cli-tests-{Guid.NewGuid():N}");
    public PdmStores OwnerDatabase { get; private set; } = null!;

    /// <summary>The registry the CLI writes to: the owner's database and the 'models' container.</summary>
    public ModelRegistry Registry { get; private set; } = null!;

    /// <summary>--database and --storage for this stack.</summary>
    public string[] RegistryOptions => ["--database", OwnerConnectionString, "--storage", StorageConnectionString];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        await _stack.InitializeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var database = await _stack.CreateDatabaseAsync(timeout.Token);
        OwnerConnectionString = database.OwnerConnectionString;
        OwnerDatabase = PdmStores.Create(OwnerConnectionString);
        Registry = new ModelRegistry(OwnerDatabase.Models,
            StorageClients.FromConnectionString(StorageConnectionString).Blobs.GetBlobContainerClient(ModelRegistry.DefaultContainer));
    }

    public async Task DisposeAsync()
    {
        if (OwnerDatabase is not null)
        {
            await OwnerDatabase.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await _stack.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    public static string NewName(string kind) => $"{kind}-{Guid.NewGuid():N}"[..24];
}

[CollectionDefinition(Name)]
public sealed class RegistryStackGroup : ICollectionFixture<RegistryStackFixture>
{
    public const string Name = "registry stack";
}
