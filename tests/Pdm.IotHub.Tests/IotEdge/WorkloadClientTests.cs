using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pdm.IotHub.IotEdge;
using Pdm.Testing;

namespace Pdm.IotHub.Tests.IotEdge;

/// <summary>The workload API client against a fake daemon listening on a unix socket, as aziot-edged does.</summary>
[Trait("Category", "Integration")]
public sealed class WorkloadClientTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-workload-{Guid.NewGuid():N}"[..26]);
    private readonly string _bundle = TestCertificates.CaBundlePem(2);
    private FakeWorkloadDaemon _daemon = null!;

    public Task InitializeAsync()
    {
        _daemon = FakeWorkloadDaemon.StartUnix(_directory, "pdm", "gen-1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), _bundle);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    [Fact]
    public async Task Sign_posts_the_module_route_with_base64_data_and_returns_the_daemons_digest()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        var data = Encoding.UTF8.GetBytes("pdm-hub.azure-devices.net%2Fdevices%2Fgw%2Fmodules%2Fpdm\n1893456000");

        var digest = await client.SignAsync("pdm", "gen-1", data, Timeout());

        Assert.Equal(_daemon.ExpectedDigest(data), digest);
        var request = Assert.Single(_daemon.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/modules/pdm/genid/gen-1/sign?api-version=2018-06-28", request.Target);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("primary", body.RootElement.GetProperty("keyId").GetString());
        Assert.Equal("HMACSHA256", body.RootElement.GetProperty("algo").GetString());
        Assert.Equal(Convert.ToBase64String(data), body.RootElement.GetProperty("data").GetString());
    }

    [Fact]
    public async Task Trust_bundle_is_the_daemons_pem_text()
    {
        using var client = new WorkloadClient(_daemon.Uri);

        Assert.Equal(_bundle, await client.GetTrustBundleAsync(Timeout()));
        Assert.Equal("/trust-bundle?api-version=2018-06-28", Assert.Single(_daemon.Requests).Target);
    }

    [Fact]
    public async Task Refused_request_reports_status_and_body()
    {
        using var client = new WorkloadClient(_daemon.Uri);

        var error = await Assert.ThrowsAsync<WorkloadException>(() => client.SignAsync("other-module", "gen-1", new byte[] { 1 }, Timeout()));

        Assert.Equal(404, error.StatusCode);
        Assert.Contains("answered 404 NotFound", error.Message, StringComparison.Ordinal);
        Assert.Contains("no route POST /modules/other-module/genid/gen-1/sign", error.Message, StringComparison.Ordinal);
        Assert.Contains("no route", error.ResponseBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_error_is_reported_with_status_and_body()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        _daemon.FailWith = (500, """{"message":"could not sign: key service unavailable"}""");

        var error = await Assert.ThrowsAsync<WorkloadException>(() => client.GetTrustBundleAsync(Timeout()));

        Assert.Equal(500, error.StatusCode);
        Assert.Equal("Workload API GET /trust-bundle?api-version=2018-06-28 answered 500 InternalServerError: "
            + """{"message":"could not sign: key service unavailable"}""", error.Message);
    }

    [Fact]
    public async Task Connection_closed_without_reply_is_retried()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        _daemon.DropNextConnections(2);
        var data = new byte[] { 1, 2, 3 };

        var digest = await client.SignAsync("pdm", "gen-1", data, Timeout());

        Assert.Equal(_daemon.ExpectedDigest(data), digest);
        Assert.Equal(3, _daemon.SignRequests);
    }

    [Fact]
    public async Task Daemon_that_never_answers_fails_after_the_last_attempt()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        _daemon.DropNextConnections(WorkloadClient.MaxAttempts);

        var error = await Assert.ThrowsAsync<WorkloadException>(() => client.SignAsync("pdm", "gen-1", new byte[] { 1 }, Timeout()));

        Assert.Null(error.StatusCode);
        Assert.Contains($"did not answer POST /modules/pdm/genid/gen-1/sign?api-version=2018-06-28 (attempt 5 of 5)", error.Message, StringComparison.Ordinal);
        Assert.Equal(WorkloadClient.MaxAttempts, _daemon.SignRequests);
    }

    [Fact]
    public async Task Missing_socket_is_reported_with_the_workload_uri()
    {
        var missing = new Uri($"unix://{Path.Combine(_directory, "absent.sock")}");
        using var client = new WorkloadClient(missing);

        var error = await Assert.ThrowsAsync<WorkloadException>(() => client.GetTrustBundleAsync(Timeout()));

        Assert.StartsWith($"Workload API at {missing} did not answer GET /trust-bundle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_workload_uri_is_served_over_tcp()
    {
        await using var daemon = FakeWorkloadDaemon.StartTcp("pdm", "gen-2", _daemon.ModuleKey, _bundle);
        using var client = new WorkloadClient(daemon.Uri);
        var data = new byte[] { 9, 8, 7 };

        Assert.Equal(daemon.ExpectedDigest(data), await client.SignAsync("pdm", "gen-2", data, Timeout()));
    }

    [Fact]
    public async Task Trust_bundle_is_written_as_a_pem_file_under_the_data_directory()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        var dataDirectory = Path.Combine(_directory, "data");

        var path = await EdgeTrustBundle.WriteAsync(client, dataDirectory, null, Timeout());

        Assert.Equal(Path.Combine(dataDirectory, EdgeTrustBundle.FileName), path);
        Assert.Equal(_bundle, await File.ReadAllTextAsync(path));
        Assert.Single(Directory.GetFiles(dataDirectory));
    }

    [Fact]
    public async Task Trust_bundle_without_a_certificate_is_refused()
    {
        using var client = new WorkloadClient(_daemon.Uri);
        _daemon.TrustBundle = "not a certificate";

        var error = await Assert.ThrowsAsync<WorkloadException>(() => EdgeTrustBundle.WriteAsync(client, Path.Combine(_directory, "data"), null, Timeout()));

        Assert.Equal("The workload API's trust bundle holds no certificate.", error.Message);
        Assert.False(File.Exists(Path.Combine(_directory, "data", EdgeTrustBundle.FileName)));
    }
}
