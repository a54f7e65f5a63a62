using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Pdm.LocalStack;
using Pdm.AzureStorage;

namespace Pdm.AzureStorage.Tests;

/// <summary>The forms of <c>AzureWebJobsStorage</c> the Functions host accepts, read as it reads them.</summary>
public sealed class StorageSettingsTests
{
    private const string Azurite =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteServer.AccountKey + ";"
        + "BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;"
        + "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;";

    [Fact]
    public void A_connection_string_gives_its_own_endpoints_and_no_token_credential()
    {
        var clients = StorageClients.FromConfiguration(Settings(("AzureWebJobsStorage", Azurite)));

        Assert.Equal("devstoreaccount1", clients.Blobs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:41000/devstoreaccount1"), clients.Blobs.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:41001/devstoreaccount1"), clients.Queues.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:41002/devstoreaccount1"), clients.Tables.Uri);
        Assert.Null(clients.Credential);
    }

    [Fact]
    public void Service_uris_with_a_client_id_use_that_user_assigned_managed_identity()
    {
        var configuration = Settings(
            ("AzureWebJobsStorage:blobServiceUri", "https://pdmprod.blob.core.windows.net"),
            ("AzureWebJobsStorage:queueServiceUri", "https://pdmprod.queue.core.windows.net"),
            ("AzureWebJobsStorage:tableServiceUri", "https://pdmprod.table.core.windows.net"),
            ("AzureWebJobsStorage:credential", "managedidentity"),
            ("AzureWebJobsStorage:clientId", "6f5b4c1e-0000-4000-8000-000000000001"));

        var settings = StorageSettings.Read(configuration);
        var clients = StorageClients.Create(settings);

        Assert.Null(settings.ConnectionString);
        Assert.True(settings.UseManagedIdentity);
        Assert.Equal("6f5b4c1e-0000-4000-8000-000000000001", settings.ClientId);
        Assert.Equal(new Uri("https://pdmprod.blob.core.windows.net"), clients.Blobs.Uri);
        Assert.Equal(new Uri("https://pdmprod.queue.core.windows.net"), clients.Queues.Uri);
        Assert.Equal(new Uri("https://pdmprod.table.core.windows.net"), clients.Tables.Uri);
        Assert.IsType<ManagedIdentityCredential>(clients.Credential);
    }

    [Fact]
    public void Without_the_credential_setting_the_default_chain_is_used_as_the_host_does()
    {
        var settings = StorageSettings.Read(Settings(("AzureWebJobsStorage:blobServiceUri", "https://pdmprod.blob.core.windows.net")));

        Assert.False(settings.UseManagedIdentity);
        Assert.Null(settings.ClientId);
        Assert.IsType<DefaultAzureCredential>(StorageClients.Create(settings).Credential);
    }

    [Fact]
    public void An_account_name_means_public_azure_endpoints()
    {
        var settings = StorageSettings.Read(Settings(("AzureWebJobsStorage:accountName", "pdmprod")));

        Assert.Equal(new Uri("https://pdmprod.blob.core.windows.net"), settings.BlobServiceUri);
        Assert.Equal(new Uri("https://pdmprod.queue.core.windows.net"), settings.QueueServiceUri);
        Assert.Equal(new Uri("https://pdmprod.table.core.windows.net"), settings.TableServiceUri);
    }

    [Fact]
    public void The_queue_endpoint_of_an_azure_blob_endpoint_is_derived_and_of_any_other_host_must_be_set()
    {
        var azure = StorageSettings.Read(Settings(("AzureWebJobsStorage:blobServiceUri", "https://pdmprod.blob.core.windows.net/")));
        Assert.Equal(new Uri("https://pdmprod.queue.core.windows.net/"), azure.QueueServiceUri);
        Assert.Equal(new Uri("https://pdmprod.table.core.windows.net/"), azure.TableServiceUri);

        var custom = StorageClients.FromConfiguration(Settings(("AzureWebJobsStorage:blobServiceUri", "https://blobs.example.com/")));
        Assert.Equal(new Uri("https://blobs.example.com/"), custom.Blobs.Uri);
        var error = Assert.Throws<InvalidOperationException>(() => custom.Queues);
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", error.Message, StringComparison.Ordinal);
        var tableError = Assert.Throws<InvalidOperationException>(() => custom.Tables);
        Assert.Equal("Tables are not configured: set AzureWebJobsStorage__tableServiceUri.", tableError.Message);
    }

    [Fact]
    public void The_connection_string_wins_over_identity_settings_as_in_the_host()
    {
        var settings = StorageSettings.Read(Settings(
            ("AzureWebJobsStorage", Azurite), ("AzureWebJobsStorage:blobServiceUri", "https://pdmprod.blob.core.windows.net")));

        Assert.Equal(Azurite, settings.ConnectionString);
        Assert.Null(settings.BlobServiceUri);
    }

    [Fact]
    public void Missing_storage_names_both_settings_to_set()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageClients.FromConfiguration(Settings()));

        Assert.Equal(
            "Storage is not configured: set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__blobServiceUri "
            + "and AzureWebJobsStorage__queueServiceUri (managed identity).", error.Message);
    }

    [Fact]
    public void Another_connection_name_is_read_and_named_in_errors()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageSettings.Read(Settings(("AzureWebJobsStorage", Azurite)), "AlertStorage"));

        Assert.StartsWith("Storage is not configured: set AlertStorage (a connection string)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("blobServiceUri", "/relative", "AzureWebJobsStorage__blobServiceUri '/relative' is not an absolute https URI.")]
    [InlineData("tableServiceUri", "table.example.com", "AzureWebJobsStorage__tableServiceUri 'table.example.com' is not an absolute https URI.")]
    [InlineData("blobServiceUri", "ftp://host/x", "AzureWebJobsStorage__blobServiceUri 'ftp://host/x' is not an absolute https URI.")]
    [InlineData("accountName", "pdm prod", "AzureWebJobsStorage__accountName 'pdm prod' is not a storage account name.")]
    [InlineData("credential", "connectionstring", "AzureWebJobsStorage__credential is 'connectionstring': the only supported value is 'managedidentity'")]
    public void A_malformed_identity_setting_is_named_with_its_value(string key, string value, string expected)
    {
        var configuration = Settings(("AzureWebJobsStorage:accountName", "pdmprod"), ($"AzureWebJobsStorage:{key}", value));

        var error = Assert.Throws<InvalidOperationException>(() => StorageSettings.Read(configuration));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_connection_string_names_the_setting_and_not_the_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageClients.FromConfiguration(
            Settings(("AzureWebJobsStorage", $"AccountKey={AzuriteServer.AccountKey};just-text"))));

        Assert.StartsWith("Invalid storage connection string in AzureWebJobsStorage: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Identity_access_asks_for_a_storage_token()
    {
        var credential = new FixedTokenCredential();
        var unusedPort = FreePort.Pick();
        var clients = StorageClients.FromServiceUris(new Uri($"https://127.0.0.1:{unusedPort}/blob"),
            new Uri($"https://127.0.0.1:{unusedPort}/queue"), credential, options => options.Retry.MaxRetries = 0);

        // Nothing listens there: the token is fetched before the connection fails.
        await Assert.ThrowsAnyAsync<Exception>(() => clients.Queues.GetQueueClient("alerts").GetPropertiesAsync());

        Assert.Equal(["https://storage.azure.com/.default"], credential.RequestedScopes);
    }

    [Fact]
    public async Task Identity_access_to_tables_asks_for_a_storage_token()
    {
        var credential = new FixedTokenCredential();
        var unusedPort = FreePort.Pick();
        var clients = StorageClients.FromServiceUris(new Uri($"https://127.0.0.1:{unusedPort}/blob"), null, credential,
            options => options.Retry.MaxRetries = 0, tableServiceUri: new Uri($"https://127.0.0.1:{unusedPort}/table"));

        await Assert.ThrowsAnyAsync<Exception>(() => clients.Tables.GetTableClient("attempts").CreateIfNotExistsAsync());

        Assert.Equal(["https://storage.azure.com/.default"], credential.RequestedScopes);
    }

    /// <summary>Later values replace earlier ones, as a later configuration source would.</summary>
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))
            .GroupBy(v => v.Key).Select(g => g.Last())).Build();

    private sealed class FixedTokenCredential : TokenCredential
    {
        public IReadOnlyList<string> RequestedScopes { get; private set; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            RequestedScopes = requestContext.Scopes;
            return new AccessToken("token", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
