using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.Messaging.Storage;

/// <summary>Retry, timeout and diagnostics settings shared by every client of one <see cref="StorageAccount"/>.</summary>
public sealed class StorageClientOptions : ClientOptions
{
}

/// <summary>
/// One storage account: its Blob and Queue endpoints and the authenticated HTTP pipeline their clients share.
/// Create it once (it is thread-safe) and hand out container and queue clients from it.
/// </summary>
public sealed class StorageAccount
{
    /// <summary>The REST API version sent with every request; Azurite 3.35 and Azure both serve it.</summary>
    public const string ServiceVersion = "2021-08-06";

    /// <summary>The Entra ID scope for data-plane access to Blob and Queue storage.</summary>
    public const string TokenScope = "https://storage.azure.com/.default";

    private StorageAccount(Uri? blobEndpoint, Uri? queueEndpoint, HttpPipelinePolicy authentication, StorageClientOptions? options)
    {
        BlobEndpoint = blobEndpoint;
        QueueEndpoint = queueEndpoint;
        Pipeline = HttpPipelineBuilder.Build(
            options ?? new StorageClientOptions(),
            perCallPolicies: [],
            perRetryPolicies: [authentication],
            responseClassifier: new ResponseClassifier());
    }

    public Uri? BlobEndpoint { get; }

    public Uri? QueueEndpoint { get; }

    internal HttpPipeline Pipeline { get; }

    /// <summary>
    /// Uses the AccountKey of the string (Shared Key), or, for a string without a key, <paramref name="credential"/>.
    /// </summary>
    /// <exception cref="FormatException">The string is malformed; the message says which setting and why.</exception>
    public static StorageAccount FromConnectionString(
        string connectionString, TokenCredential? credential = null, StorageClientOptions? options = null)
    {
        if (!StorageConnectionString.TryParse(connectionString, out var parsed, out var error))
        {
            throw new FormatException("Invalid storage connection string: " + error);
        }

        return FromConnectionString(parsed, credential, options);
    }

    /// <inheritdoc cref="FromConnectionString(string, TokenCredential?, StorageClientOptions?)"/>
    public static StorageAccount FromConnectionString(
        StorageConnectionString connectionString, TokenCredential? credential = null, StorageClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        HttpPipelinePolicy authentication = (connectionString.AccountKey, credential) switch
        {
            (not null, null) => new StorageSharedKeyPolicy(connectionString.AccountName, connectionString.AccountKey),
            (null, not null) => new BearerTokenAuthenticationPolicy(credential, TokenScope),
            (not null, not null) => throw new ArgumentException(
                "The connection string has an AccountKey and a credential was passed too: pass only one.", nameof(credential)),
            _ => throw new ArgumentException(
                "The connection string has no AccountKey: pass a token credential (managed identity).", nameof(credential)),
        };
        return new StorageAccount(connectionString.BlobEndpoint, connectionString.QueueEndpoint, authentication, options);
    }

    /// <summary>Identity-based access, as with <c>AzureWebJobsStorage__blobServiceUri</c> / <c>__queueServiceUri</c>.</summary>
    public static StorageAccount FromServiceUris(
        Uri blobEndpoint, Uri queueEndpoint, TokenCredential credential, StorageClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(blobEndpoint);
        ArgumentNullException.ThrowIfNull(queueEndpoint);
        ArgumentNullException.ThrowIfNull(credential);
        return new StorageAccount(blobEndpoint, queueEndpoint, new BearerTokenAuthenticationPolicy(credential, TokenScope), options);
    }

    public BlobContainerClient GetBlobContainer(string containerName)
    {
        var endpoint = BlobEndpoint
            ?? throw new InvalidOperationException("This storage account has no blob endpoint (BlobEndpoint).");
        return new BlobContainerClient(Pipeline, endpoint, containerName);
    }

    public QueueClient GetQueue(string queueName, QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var endpoint = QueueEndpoint
            ?? throw new InvalidOperationException("This storage account has no queue endpoint (QueueEndpoint).");
        return new QueueClient(Pipeline, endpoint, queueName, encoding);
    }
}
