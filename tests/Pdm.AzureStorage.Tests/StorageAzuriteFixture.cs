using Azure.Core;
using Azure.Core.Pipeline;
using Pdm.LocalStack;
using Pdm.AzureStorage;
using Pdm.Testing;

namespace Pdm.AzureStorage.Tests;

/// <summary>One Azurite on free loopback ports, with its state in a temp folder, for the storage SDK tests.</summary>
public sealed class StorageAzuriteFixture : IAsyncLifetime
{
    private readonly string _stateDirectory =
        Path.Combine(Path.GetTempPath(), $"pdm-azurite-{Guid.NewGuid():N}");

    private AzuriteServer? _server;

    public AzuriteServer Server => _server ?? throw new InvalidOperationException("Azurite is not started.");

    /// <summary>Counts every request the <see cref="Clients"/> send (retries included).</summary>
    public RequestCounter Requests { get; } = new();

    public StorageClients Clients { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAzurite.StartAsync(_stateDirectory);

        Clients = StorageClients.FromConnectionString(_server.ConnectionString,
            options => options.AddPolicy(Requests, HttpPipelinePosition.PerRetry));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    /// <summary>A container or queue name no other test uses.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A table name no other test uses (letters and digits only, as tables require).</summary>
    public static string UniqueTableName(string prefix) => $"{prefix}{Guid.NewGuid():N}";
}

public sealed class RequestCounter : HttpPipelineSynchronousPolicy
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
}

[CollectionDefinition(Name)]
public sealed class StorageAzuriteCollectionDefinition : ICollectionFixture<StorageAzuriteFixture>
{
    public const string Name = "Storage on Azurite";
}
