using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace Pdm.AzureStorage;

/// <summary>
/// The Blob, Queue and Table service clients of one storage account, made from <see cref="StorageSettings"/>. Create it once
/// (the clients are thread-safe) and take container and queue clients from it. Queue messages are base64, as the
/// Functions queue trigger expects.
/// </summary>
public sealed class StorageClients
{
    private readonly QueueServiceClient? _queues;
    private readonly TableServiceClient? _tables;
    private readonly string _connectionName;

    private StorageClients(BlobServiceClient blobs, QueueServiceClient? queues, TableServiceClient? tables, TokenCredential? credential,
        string connectionName)
    {
        Blobs = blobs;
        _queues = queues;
        _tables = tables;
        Credential = credential;
        _connectionName = connectionName;
    }

    public BlobServiceClient Blobs { get; }

    /// <exception cref="InvalidOperationException">The identity form has no queue service URI.</exception>
    public QueueServiceClient Queues => _queues ?? throw new InvalidOperationException(
        $"Queues are not configured: set {_connectionName}__queueServiceUri.");

    /// <exception cref="InvalidOperationException">The identity form has no table service URI.</exception>
    public TableServiceClient Tables => _tables ?? throw new InvalidOperationException(
        $"Tables are not configured: set {_connectionName}__tableServiceUri.");

    /// <summary>The token credential of the identity form; null for a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <param name="configure">Applied to the blob, queue and table client options (retries, extra policies).</param>
    /// <exception cref="InvalidOperationException">A setting is missing or malformed; the message names it.</exception>
    public static StorageClients FromConfiguration(IConfiguration configuration,
        string connectionName = StorageSettings.DefaultConnectionName, Action<ClientOptions>? configure = null) =>
        Create(StorageSettings.Read(configuration, connectionName), configure);

    /// <exception cref="InvalidOperationException">The connection string is malformed; the message says why.</exception>
    public static StorageClients FromConnectionString(string connectionString, Action<ClientOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return Create(new StorageSettings { ConnectionName = "", ConnectionString = connectionString }, configure);
    }

    /// <summary>Identity-based access with a credential of the caller's choosing.</summary>
    public static StorageClients FromServiceUris(Uri blobServiceUri, Uri? queueServiceUri, TokenCredential credential,
        Action<ClientOptions>? configure = null, Uri? tableServiceUri = null)
    {
        ArgumentNullException.ThrowIfNull(blobServiceUri);
        ArgumentNullException.ThrowIfNull(credential);
        return WithCredential(blobServiceUri, queueServiceUri, tableServiceUri, credential, StorageSettings.DefaultConnectionName, configure);
    }

    /// <exception cref="InvalidOperationException">The connection string is malformed; the message names the setting.</exception>
    public static StorageClients Create(StorageSettings settings, Action<ClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ConnectionString is { } connectionString)
        {
            var (blobOptions, queueOptions, tableOptions) = Options(configure);
            try
            {
                return new StorageClients(new BlobServiceClient(connectionString, blobOptions),
                    new QueueServiceClient(connectionString, queueOptions), new TableServiceClient(connectionString, tableOptions),
                    credential: null, settings.ConnectionName);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                // The SDK's message names the part at fault; the string itself may hold a key, so it is not repeated.
                var where = settings.ConnectionName.Length == 0 ? "" : " in " + settings.ConnectionName;
                throw new InvalidOperationException($"Invalid storage connection string{where}: {ex.Message}", ex);
            }
        }

        var blob = settings.BlobServiceUri ?? throw new InvalidOperationException(
            $"{settings.ConnectionName} has neither a connection string nor a blob service URI.");
        TokenCredential credential = settings.UseManagedIdentity
            ? new ManagedIdentityCredential(settings.ClientId is { } clientId
                ? ManagedIdentityId.FromUserAssignedClientId(clientId)
                : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = settings.ClientId });
        return WithCredential(blob, settings.QueueServiceUri, settings.TableServiceUri, credential, settings.ConnectionName, configure);
    }

    /// <summary>
    /// True when storage refused a request, could not be reached (also after all retries), or the identity got no
    /// token: what a caller that can go on without storage for a while (health, model refresh) should tolerate.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RequestFailedException or AuthenticationFailedException or HttpRequestException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => false,
    };

    private static StorageClients WithCredential(Uri blob, Uri? queue, Uri? table, TokenCredential credential, string connectionName,
        Action<ClientOptions>? configure)
    {
        var (blobOptions, queueOptions, tableOptions) = Options(configure);
        return new StorageClients(new BlobServiceClient(blob, credential, blobOptions),
            queue is null ? null : new QueueServiceClient(queue, credential, queueOptions),
            table is null ? null : new TableServiceClient(table, credential, tableOptions), credential, connectionName);
    }

    private static (BlobClientOptions Blob, QueueClientOptions Queue, TableClientOptions Table) Options(Action<ClientOptions>? configure)
    {
        var blob = new BlobClientOptions();
        var queue = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        var table = new TableClientOptions();
        configure?.Invoke(blob);
        configure?.Invoke(queue);
        configure?.Invoke(table);
        return (blob, queue, table);
    }
}
