using Microsoft.Extensions.Configuration;

namespace Pdm.AzureStorage;

/// <summary>
/// A storage connection as the Functions host reads it (for example <c>AzureWebJobsStorage</c>): a connection string
/// (Azurite locally), or the identity form <c>__blobServiceUri</c> / <c>__queueServiceUri</c> / <c>__tableServiceUri</c>
/// (or <c>__accountName</c>)
/// with <c>__credential</c> and <c>__clientId</c>. Reading checks every value and names the setting at fault.
/// </summary>
public sealed record StorageSettings
{
    public const string DefaultConnectionName = "AzureWebJobsStorage";

    /// <summary>The value of <c>__credential</c> that selects the app's managed identity.</summary>
    public const string ManagedIdentity = "managedidentity";

    /// <summary>The setting these came from, for error messages (<c>AzureWebJobsStorage</c>); empty when not a setting.</summary>
    public required string ConnectionName { get; init; }

    /// <summary>Set for the connection-string form; the service URIs are null then.</summary>
    public string? ConnectionString { get; init; }

    public Uri? BlobServiceUri { get; init; }

    /// <summary>Null when neither given nor derivable; queues are then unavailable (blobs still work).</summary>
    public Uri? QueueServiceUri { get; init; }

    /// <summary>Null when neither given nor derivable; tables are then unavailable (blobs still work).</summary>
    public Uri? TableServiceUri { get; init; }

    /// <summary>
    /// True for <c>__credential=managedidentity</c> (as in Azure); otherwise <c>DefaultAzureCredential</c>, which finds
    /// the managed identity in Azure and the developer's sign-in locally, as the host does without the setting.
    /// </summary>
    public bool UseManagedIdentity { get; init; }

    /// <summary>The client id of a user-assigned identity; null for the system-assigned one.</summary>
    public string? ClientId { get; init; }

    /// <exception cref="InvalidOperationException">Nothing is set, or a value is malformed; the message names the setting.</exception>
    public static StorageSettings Read(IConfiguration configuration, string connectionName = DefaultConnectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        var section = configuration.GetSection(connectionName);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new StorageSettings { ConnectionName = connectionName, ConnectionString = section.Value };
        }

        var accountName = Value(section, "accountName");
        var blob = ServiceUri(section, connectionName, "blobServiceUri")
            ?? (accountName is null ? null : AccountUri(accountName, "blob", connectionName))
            ?? throw new InvalidOperationException(
                $"Storage is not configured: set {connectionName} (a connection string) or {connectionName}__blobServiceUri "
                + $"and {connectionName}__queueServiceUri (managed identity).");
        var queue = ServiceUri(section, connectionName, "queueServiceUri")
            ?? (accountName is null ? null : AccountUri(accountName, "queue", connectionName))
            ?? BesideBlob(blob, "queue");
        var table = ServiceUri(section, connectionName, "tableServiceUri")
            ?? (accountName is null ? null : AccountUri(accountName, "table", connectionName))
            ?? BesideBlob(blob, "table");

        var credential = Value(section, "credential");
        if (credential is not null && !string.Equals(credential, ManagedIdentity, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"{connectionName}__credential is '{credential}': the only supported value is '{ManagedIdentity}' (or leave it unset).");
        }

        return new StorageSettings
        {
            ConnectionName = connectionName,
            BlobServiceUri = blob,
            QueueServiceUri = queue,
            TableServiceUri = table,
            UseManagedIdentity = credential is not null,
            ClientId = Value(section, "clientId"),
        };
    }

    private static string? Value(IConfigurationSection section, string key) =>
        section[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static Uri? ServiceUri(IConfigurationSection section, string connectionName, string key)
    {
        if (Value(section, key) is not { } text)
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new InvalidOperationException($"{connectionName}__{key} '{text}' is not an absolute https URI.");
    }

    private static Uri AccountUri(string accountName, string service, string connectionName) =>
        Uri.TryCreate($"https://{accountName}.{service}.core.windows.net", UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"{connectionName}__accountName '{accountName}' is not a storage account name.");

    /// <summary>Azure's own endpoints differ only in the service label; other hosts give no hint.</summary>
    private static Uri? BesideBlob(Uri blob, string service) =>
        blob.Host.Contains(".blob.", StringComparison.OrdinalIgnoreCase)
            ? new UriBuilder(blob) { Host = blob.Host.Replace(".blob.", $".{service}.", StringComparison.OrdinalIgnoreCase) }.Uri
            : null;
}
