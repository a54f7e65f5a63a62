using System.CommandLine;
using System.Net.Sockets;
using Npgsql;
using Pdm.LocalStack;
using Pdm.AzureStorage;
using Pdm.Prediction;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>
/// The model registry the CLI works with: by default the one of the running local stack (`./pdm stack up` or
/// `./pdm demo`), on the database owner's connection (registering and promoting need it) and the Azurite container
/// "models"; --database and --storage point elsewhere.
/// </summary>
internal sealed class ModelRegistryAccess : IAsyncDisposable
{
    private const string StartHint = "start the local stack with `./pdm stack up` (or run `./pdm demo`), or pass --database and --storage";

    private readonly PdmStores _stores;

    private ModelRegistryAccess(PdmStores stores, ModelRegistry registry)
    {
        _stores = stores;
        Registry = registry;
    }

    public ModelRegistry Registry { get; }

    public static Option<string?> DatabaseOption() => new("--database")
    {
        Description = "Npgsql connection string of the database owner (default: the running local stack's database)",
    };

    public static Option<string?> StorageOption() => new("--storage")
    {
        Description = $"Storage connection string of the account holding the '{ModelRegistry.DefaultContainer}' container (default: the local stack's Azurite)",
    };

    /// <summary>The registry, or null (with the reason on stderr) when there is no local stack to default to.</summary>
    public static async Task<ModelRegistryAccess?> OpenAsync(string? databaseConnection, string? storageConnection, CancellationToken cancellationToken)
    {
        if (databaseConnection is null || storageConnection is null)
        {
            var endpoints = LocalServers.ReadEndpoints(CliPaths.LocalState);
            if (endpoints is null)
            {
                await Console.Error.WriteLineAsync($"No model registry: no local stack is running; {StartHint}.");
                return null;
            }
            databaseConnection ??= (await LocalEnvironment.PrepareDatabaseAsync(endpoints, CliPaths.LocalDatabaseName, cancellationToken)).OwnerConnectionString;
            storageConnection ??= endpoints.StorageConnectionString;
        }
        // One retry: an unreachable registry should be reported in seconds, not after the SDK's long back-off.
        var storage = StorageClients.FromConnectionString(storageConnection, options => options.Retry.MaxRetries = 1);
        var stores = PdmStores.Create(databaseConnection);
        return new ModelRegistryAccess(stores, new ModelRegistry(stores.Models, storage.Blobs.GetBlobContainerClient(ModelRegistry.DefaultContainer)));
    }

    /// <summary>
    /// Runs <paramref name="action"/> against the registry; a registry that cannot be reached (or a stale local stack)
    /// is exit code 2 with the reason and how to start it.
    /// </summary>
    public static async Task<int> RunAsync(string? databaseConnection, string? storageConnection, Func<ModelRegistry, Task<int>> action,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var access = await OpenAsync(databaseConnection, storageConnection, cancellationToken);
            return access is null ? 2 : await action(access.Registry);
        }
        catch (Exception exception) when (IsUnreachable(exception))
        {
            await Console.Error.WriteLineAsync($"The model registry is unreachable ({exception.Message}); {StartHint}.");
            return 2;
        }
    }

    public static bool IsUnreachable(Exception exception) => exception is NpgsqlException or HttpRequestException or SocketException
        or TimeoutException || StorageClients.IsUnavailable(exception);

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
