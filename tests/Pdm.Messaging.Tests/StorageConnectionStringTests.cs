using Azure.Core;
using Pdm.Messaging.Storage;

namespace Pdm.Messaging.Tests;

public sealed class StorageConnectionStringTests
{
    private const string Key = StorageConnectionString.DevelopmentAccountKey;

    [Fact]
    public void Development_storage_means_devstoreaccount1_on_the_default_azurite_ports()
    {
        Assert.True(StorageConnectionString.TryParse("UseDevelopmentStorage=true", out var parsed, out _));

        Assert.Equal("devstoreaccount1", parsed.AccountName);
        Assert.Equal(Key, parsed.AccountKey);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), parsed.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), parsed.QueueEndpoint);
    }

    [Fact]
    public void Explicit_endpoints_are_taken_as_given()
    {
        var text = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};"
            + "BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;"
            + "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;";

        Assert.True(StorageConnectionString.TryParse(text, out var parsed, out _));

        Assert.Equal(new Uri("http://127.0.0.1:41000/devstoreaccount1"), parsed.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:41001/devstoreaccount1"), parsed.QueueEndpoint);
    }

    [Fact]
    public void Endpoints_are_derived_from_account_name_protocol_and_suffix()
    {
        Assert.True(StorageConnectionString.TryParse(
            $"DefaultEndpointsProtocol=https;AccountName=pdmprod;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn",
            out var parsed, out _));

        Assert.Equal(new Uri("https://pdmprod.blob.core.chinacloudapi.cn"), parsed.BlobEndpoint);
        Assert.Equal(new Uri("https://pdmprod.queue.core.chinacloudapi.cn"), parsed.QueueEndpoint);
    }

    [Fact]
    public void Account_name_and_key_alone_mean_public_azure_over_https()
    {
        Assert.True(StorageConnectionString.TryParse($"accountname=pdmprod;ACCOUNTKEY={Key}", out var parsed, out _));

        Assert.Equal(new Uri("https://pdmprod.blob.core.windows.net"), parsed.BlobEndpoint);
        Assert.Equal(new Uri("https://pdmprod.queue.core.windows.net"), parsed.QueueEndpoint);
    }

    [Fact]
    public void An_endpoint_that_is_neither_named_nor_derivable_stays_unset()
    {
        Assert.True(StorageConnectionString.TryParse(
            $"AccountName=a1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:1/a1", out var parsed, out _));
        Assert.Null(parsed.QueueEndpoint);

        var account = StorageAccount.FromConnectionString(parsed);
        var error = Assert.Throws<InvalidOperationException>(() => account.GetQueue("alerts"));
        Assert.Contains("QueueEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_without_key_needs_a_token_credential()
    {
        const string text = "AccountName=pdmprod;BlobEndpoint=https://pdmprod.blob.core.windows.net;"
            + "QueueEndpoint=https://pdmprod.queue.core.windows.net";

        var error = Assert.Throws<ArgumentException>(() => StorageAccount.FromConnectionString(text));
        Assert.Contains("no AccountKey", error.Message, StringComparison.Ordinal);

        var account = StorageAccount.FromConnectionString(text, new FixedTokenCredential());
        Assert.Equal(new Uri("https://pdmprod.queue.core.windows.net"), account.QueueEndpoint);
    }

    [Fact]
    public void A_key_and_a_credential_together_are_refused()
    {
        Assert.Throws<ArgumentException>(() =>
            StorageAccount.FromConnectionString("UseDevelopmentStorage=true", new FixedTokenCredential()));
    }

    [Theory]
    [InlineData("", "The connection string is empty.")]
    [InlineData(" ; ;", "The connection string is empty.")]
    [InlineData("AccountName=a1;just-text", "Setting 2 ('just-text') is not of the form Name=Value.")]
    [InlineData("AccountName=a1;accountname=a2", "Setting 'AccountName' appears more than once.")]
    [InlineData("AccountName=a1;Colour=blue", "Unknown setting 'Colour'.")]
    [InlineData("AccountName=a1;SharedAccessSignature=sv=2021", "SharedAccessSignature is not supported")]
    [InlineData("AccountKey=AAAA", "AccountName is missing.")]
    [InlineData("AccountName=a1;AccountKey=not base64!", "AccountKey is not valid base64.")]
    [InlineData("AccountName=a1;DefaultEndpointsProtocol=ftp", "DefaultEndpointsProtocol 'ftp' is not supported")]
    [InlineData("AccountName=a1;BlobEndpoint=ftp://host/a1", "BlobEndpoint 'ftp://host/a1' is not an absolute http or https URI.")]
    [InlineData("AccountName=a1;QueueEndpoint=/relative", "QueueEndpoint '/relative' is not an absolute http or https URI.")]
    [InlineData("AccountName=a1;QueueEndpoint=https://h/a1?sv=1", "must not have a query string")]
    [InlineData("UseDevelopmentStorage=yes", "UseDevelopmentStorage must be 'true', not 'yes'.")]
    [InlineData("UseDevelopmentStorage=true;AccountName=a1", "cannot be combined with other settings (AccountName)")]
    public void Bad_strings_are_rejected_with_the_setting_and_reason(string text, string expected)
    {
        Assert.False(StorageConnectionString.TryParse(text, out var parsed, out var error));

        Assert.Null(parsed);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Building_an_account_from_a_bad_string_throws_a_format_error_with_the_reason()
    {
        var error = Assert.Throws<FormatException>(() => StorageAccount.FromConnectionString("AccountKey=AAAA"));

        Assert.Equal("Invalid storage connection string: AccountName is missing.", error.Message);
    }

    [Fact]
    public async Task Identity_access_asks_for_a_storage_token()
    {
        var credential = new FixedTokenCredential();
        var unusedPort = Pdm.LocalStack.FreePort.Pick();
        var options = new StorageClientOptions();
        options.Retry.MaxRetries = 0;
        var account = StorageAccount.FromServiceUris(
            new Uri($"https://127.0.0.1:{unusedPort}/blob"), new Uri($"https://127.0.0.1:{unusedPort}/queue"), credential, options);

        // Nothing listens there: the token is fetched before the connection fails.
        await Assert.ThrowsAnyAsync<Exception>(() => account.GetQueue("alerts").GetApproximateCountAsync());

        Assert.Equal(["https://storage.azure.com/.default"], credential.RequestedScopes);
    }

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
