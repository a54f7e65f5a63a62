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
        var executable = AzuriteServer.FindExecutable(RepoPaths.Root)
            ?? throw new InvalidOperationException($"Azurite is not installed under {RepoPaths.Root}/.pdm/tools: run scripts/setup.sh first.");
        _server = new AzuriteServer(_stateDirectory, executable, FreePort.Pick(), FreePort.Pick(), FreePort.Pick());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await _server.StartAsync(timeout.Token);
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
