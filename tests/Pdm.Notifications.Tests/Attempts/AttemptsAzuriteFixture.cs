using Pdm.AzureStorage;
using Pdm.LocalStack;

namespace Pdm.Notifications.Tests.Attempts;

/// <summary>One Azurite on free loopback ports for the attempt log tests; each test takes its own table.</summary>
public sealed class AttemptsAzuriteFixture : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"pdm-azurite-{Guid.NewGuid():N}");
    private AzuriteServer? _server;

    public StorageClients Clients { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAzurite.StartAsync(_stateDirectory);
        Clients = StorageClients.FromConnectionString(_server.ConnectionString);
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
}

[CollectionDefinition(Name)]
public sealed class AttemptsAzuriteCollectionDefinition : ICollectionFixture<AttemptsAzuriteFixture>
{
    public const string Name = "Attempt log on Azurite";
}
