using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.AzureStorage.Tests;

[Collection(StorageAzuriteCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class StorageAzuriteServerTests(StorageAzuriteFixture azurite)
{
    [Fact]
    public void The_connection_string_names_the_chosen_ports_and_the_development_account()
    {
        var server = azurite.Server;

        Assert.NotNull(server.ProcessId);
        Assert.Contains($"BlobEndpoint={server.BlobEndpoint.AbsoluteUri};", server.ConnectionString, StringComparison.Ordinal);
        Assert.Contains($"QueueEndpoint={server.QueueEndpoint.AbsoluteUri};", server.ConnectionString, StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.1:", server.BlobEndpoint.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains("AccountName=devstoreaccount1;", server.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_dies_on_start_reports_its_exit_and_output()
    {
        var state = Path.Combine(Path.GetTempPath(), $"pdm-azurite-{Guid.NewGuid():N}");
        var executable = AzuriteServer.FindExecutable(RepoPaths.Root)!;
        // The blob port is taken by the fixture's server, so this one cannot listen and exits.
        await using var second = new AzuriteServer(
            state, executable, azurite.Server.BlobEndpoint.Port, FreePort.Pick(), FreePort.Pick());

        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());

            Assert.Contains("Azurite exited with code", error.Message, StringComparison.Ordinal);
            Assert.Contains("EADDRINUSE", error.Message, StringComparison.Ordinal);
            Assert.Null(second.ProcessId);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void A_missing_install_is_reported_as_null()
    {
        Assert.Null(AzuriteServer.FindExecutable(Path.GetTempPath()));
    }
}
