using Azure.Storage.Queues;
using Pdm.AzureStorage;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.DevHost.Tests;

/// <summary>One Azurite on free loopback ports for the queue trigger tests; each test uses queues of its own.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"pdm-devhost-azurite-{Guid.NewGuid():N}");
    private AzuriteServer? _server;

    public string ConnectionString => _server!.ConnectionString;

    /// <summary>The platform's producer side: base64 message text, as the Functions queue trigger expects.</summary>
    public StorageClients Clients { get; private set; } = null!;

    /// <summary>A client that sends message text as given (no base64), like a producer that forgot the encoding.</summary>
    public QueueServiceClient RawQueues { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAzurite.StartAsync(_stateDirectory);
        Clients = StorageClients.FromConnectionString(ConnectionString);
        RawQueues = StorageClients.FromConnectionString(ConnectionString, options =>
        {
            if (options is QueueClientOptions queueOptions)
            {
                queueOptions.MessageEncoding = QueueMessageEncoding.None;
            }
        }).Queues;
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

    /// <summary>A queue name no other test uses (lower case, within the 63-character limit with "-poison").</summary>
    public static string UniqueQueueName() => $"q{Guid.NewGuid():N}"[..20];
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollectionDefinition : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Dev host on Azurite";
}
