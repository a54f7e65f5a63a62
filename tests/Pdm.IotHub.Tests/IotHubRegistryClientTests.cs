using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Pdm.IotHub;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.IotHub.Tests;

/// <summary>
/// The client against a loopback listener that records each request and answers from a script, checked against
/// the documented request shape (azure-contracts.md section 6).
/// </summary>
public sealed class IotHubRegistryClientTests : IAsyncLifetime
{
    private const string PolicyKey = "q+DKVojmMz014RjAwpNGZbAkdOocSVWMKPOccLfUmLE=";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1700000000);
    private readonly LoopbackRegistry _hub = new();
    private IotHubRegistryClient _client = null!;

    public Task InitializeAsync()
    {
        _hub.Start();
        var options = new IotHubRegistryClientOptions { TimeProvider = new FixedTime(Now) };
        options.Retry.MaxRetries = 0;
        _client = new IotHubRegistryClient(_hub.Endpoint, "registryReadWrite", PolicyKey, options);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _hub.StopAsync();

    [Fact]
    public async Task Create_puts_the_device_with_new_sas_keys_and_a_policy_token()
    {
        _hub.Respond(200, """{"deviceId":"gw-001","authentication":{"type":"sas","symmetricKey":{"primaryKey":"UEs=","secondaryKey":"U0s="}}}""");

        var identity = await _client.CreateOrUpdateAsync("gw-001", CancellationToken.None);

        Assert.Equal(new DeviceIdentity("gw-001", "UEs="), identity);
        var request = Assert.Single(_hub.Requests);
        Assert.Equal("PUT", request.Method);
        Assert.Equal("/devices/gw-001", request.Path);
        Assert.Equal("?api-version=2021-04-12", request.Query);
        Assert.Null(request.Headers["If-Match"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        // The hub checks the signature; here the expected token is rebuilt from the documented recipe.
        Assert.Equal(SasToken.Create("127.0.0.1/devices", PolicyKey, Now.AddHours(1), "registryReadWrite"), request.Headers["Authorization"]);
        Assert.Matches(new Regex("^SharedAccessSignature sr=127.0.0.1%2Fdevices&sig=[^&]+&se=1700003600&skn=registryReadWrite$"), request.Headers["Authorization"]!);

        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("gw-001", root.GetProperty("deviceId").GetString());
        Assert.Equal("enabled", root.GetProperty("status").GetString());
        Assert.Equal("sas", root.GetProperty("authentication").GetProperty("type").GetString());
        var keys = root.GetProperty("authentication").GetProperty("symmetricKey");
        var primary = Convert.FromBase64String(keys.GetProperty("primaryKey").GetString()!);
        var secondary = Convert.FromBase64String(keys.GetProperty("secondaryKey").GetString()!);
        Assert.Equal(32, primary.Length);
        Assert.Equal(32, secondary.Length);
        Assert.NotEqual(primary, secondary);
    }

    [Fact]
    public async Task Existing_device_is_replaced_unconditionally_after_409()
    {
        _hub.Respond(409, """{"Message":"ErrorCode:DeviceAlreadyExists;A device with ID 'gw-001' is already registered."}""", "DeviceAlreadyExists");
        _hub.Respond(200, """{"deviceId":"gw-001","authentication":{"type":"sas","symmetricKey":{"primaryKey":"TkVX","secondaryKey":"U0s="}}}""");

        var identity = await _client.CreateOrUpdateAsync("gw-001", CancellationToken.None);

        Assert.Equal("TkVX", identity.PrimaryKey);
        Assert.Collection(_hub.Requests,
            create => Assert.Null(create.Headers["If-Match"]),
            update =>
            {
                Assert.Equal("PUT", update.Method);
                Assert.Equal("\"*\"", update.Headers["If-Match"]);
                Assert.Equal(_hub.Requests[0].Body, update.Body);
            });
    }

    [Fact]
    public async Task Delete_sends_if_match_star_and_treats_missing_device_as_done()
    {
        _hub.Respond(404, """{"Message":"ErrorCode:DeviceNotFound"}""", "DeviceNotFound");

        await _client.DeleteAsync("gw-001", CancellationToken.None);

        var request = Assert.Single(_hub.Requests);
        Assert.Equal("DELETE", request.Method);
        Assert.Equal("/devices/gw-001", request.Path);
        Assert.Equal("?api-version=2021-04-12", request.Query);
        Assert.Equal("\"*\"", request.Headers["If-Match"]);
        Assert.StartsWith("SharedAccessSignature sr=127.0.0.1%2Fdevices&sig=", request.Headers["Authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_returns_the_primary_key_or_null_when_missing()
    {
        _hub.Respond(200, """{"deviceId":"gw-001","authentication":{"type":"sas","symmetricKey":{"primaryKey":"UEs=","secondaryKey":"U0s="}}}""");
        _hub.Respond(404, "{}", "DeviceNotFound");

        Assert.Equal(new DeviceIdentity("gw-001", "UEs="), await _client.GetAsync("gw-001", CancellationToken.None));
        Assert.Null(await _client.GetAsync("gw-002", CancellationToken.None));
        Assert.All(_hub.Requests, r => Assert.Equal("GET", r.Method));
    }

    [Fact]
    public async Task Failure_carries_status_and_iothub_error_code()
    {
        _hub.Respond(401, """{"Message":"ErrorCode:IotHubUnauthorizedAccess;Unauthorized"}""", "IotHubUnauthorizedAccess");

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => _client.CreateOrUpdateAsync("gw-001", CancellationToken.None));

        Assert.Equal(401, error.Status);
        Assert.Equal("IotHubUnauthorizedAccess", error.ErrorCode);
    }

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_after_the_hubs_retry_after()
    {
        // The retry is Azure.Core's pipeline policy (429, 408 and 5xx, Retry-After honoured); each try is signed anew.
        var options = new IotHubRegistryClientOptions { TimeProvider = new FixedTime(Now) };
        options.Retry.MaxRetries = 3;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var client = new IotHubRegistryClient(_hub.Endpoint, "registryReadWrite", PolicyKey, options);
        _hub.Respond(429, """{"Message":"ErrorCode:ThrottlingException;throttled"}""", "ThrottlingException", retryAfterSeconds: 1);
        _hub.Respond(503, """{"Message":"ErrorCode:ServiceUnavailable;try again"}""", "ServiceUnavailable");
        _hub.Respond(200, """{"deviceId":"gw-001","authentication":{"type":"sas","symmetricKey":{"primaryKey":"UEs=","secondaryKey":"U0s="}}}""");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var identity = await client.GetAsync("gw-001", CancellationToken.None);

        Assert.Equal("UEs=", identity?.PrimaryKey);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"retried after {clock.Elapsed}, before the hub's Retry-After");
        Assert.Equal(3, _hub.Requests.Count);
        Assert.All(_hub.Requests, r => Assert.StartsWith("SharedAccessSignature ", r.Headers["Authorization"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_error_is_not_retried()
    {
        var options = new IotHubRegistryClientOptions { TimeProvider = new FixedTime(Now) };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var client = new IotHubRegistryClient(_hub.Endpoint, "registryReadWrite", PolicyKey, options);
        _hub.Respond(400, """{"Message":"ErrorCode:ArgumentInvalid;bad id"}""", "ArgumentInvalid");

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => client.DeleteAsync("gw-001", CancellationToken.None));

        Assert.Equal(400, error.Status);
        Assert.Single(_hub.Requests);
    }

    [Fact]
    public void Device_connection_string_is_not_accepted_for_the_registry()
    {
        var error = Assert.Throws<FormatException>(() =>
            IotHubRegistryClient.FromConnectionString($"HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey={PolicyKey}"));

        Assert.Contains("shared access policy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://contoso.azure-devices.net/")]
    [InlineData("http://10.0.0.5:8080/")]
    [InlineData("ftp://127.0.0.1/")]
    public void Keys_and_tokens_go_over_https_except_to_a_loopback_stand_in(string endpoint)
    {
        var connectionString = $"HostName=h.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey={PolicyKey}";

        var error = Assert.Throws<ArgumentException>(() => IotHubRegistryClient.FromConnectionString(connectionString, new Uri(endpoint)));

        Assert.Contains("https", error.Message, StringComparison.Ordinal);
        _ = IotHubRegistryClient.FromConnectionString(connectionString, new Uri("http://127.0.0.1:8080/"));
        _ = IotHubRegistryClient.FromConnectionString(connectionString, new Uri("https://h.privatelink.azure-devices.net/"));
    }

    [Fact]
    public async Task With_an_endpoint_override_tokens_are_still_signed_for_the_hub_in_the_connection_string()
    {
        var options = new IotHubRegistryClientOptions { TimeProvider = new FixedTime(Now) };
        var client = IotHubRegistryClient.FromConnectionString(
            $"HostName=h.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey={PolicyKey}", _hub.Endpoint, options);
        _hub.Respond(204, "", null);

        await client.DeleteAsync("gw-001", CancellationToken.None);

        var authorization = Assert.Single(_hub.Requests).Headers["Authorization"];
        Assert.StartsWith("SharedAccessSignature sr=h.azure-devices.net%2Fdevices&", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edge_device_is_created_with_the_iot_edge_capability_when_the_hub_does_not_know_it()
    {
        _hub.Respond(404, """{"Message":"ErrorCode:DeviceNotFound"}""", "DeviceNotFound");
        _hub.Respond(200, """{"deviceId":"gw-001","capabilities":{"iotEdge":true},"authentication":{"type":"sas","symmetricKey":{"primaryKey":"UEs=","secondaryKey":"U0s="}}}""");

        var identity = await _client.EnsureEdgeDeviceAsync("gw-001", CancellationToken.None);

        Assert.Equal(new EdgeDeviceIdentity("gw-001", "UEs=", EdgeDeviceChange.Created), identity);
        Assert.Collection(_hub.Requests,
            get => Assert.Equal(("GET", "/devices/gw-001"), (get.Method, get.Path)),
            put =>
            {
                Assert.Equal(("PUT", "/devices/gw-001", "?api-version=2021-04-12"), (put.Method, put.Path, put.Query));
                Assert.Null(put.Headers["If-Match"]);
                AssertSignedForTheRegistry(put);
                using var body = JsonDocument.Parse(put.Body);
                Assert.True(body.RootElement.GetProperty("capabilities").GetProperty("iotEdge").GetBoolean());
                Assert.Equal("sas", body.RootElement.GetProperty("authentication").GetProperty("type").GetString());
                Assert.Equal(32, Convert.FromBase64String(body.RootElement.GetProperty("authentication").GetProperty("symmetricKey")
                    .GetProperty("primaryKey").GetString()!).Length);
            });
    }

    [Fact]
    public async Task An_existing_edge_device_keeps_its_keys_and_is_not_written()
    {
        _hub.Respond(200, """{"deviceId":"gw-001","etag":"MQ==","capabilities":{"iotEdge":true},"authentication":{"type":"sas","symmetricKey":{"primaryKey":"T0xE","secondaryKey":"U0s="}}}""");

        var identity = await _client.EnsureEdgeDeviceAsync("gw-001", CancellationToken.None);

        Assert.Equal(new EdgeDeviceIdentity("gw-001", "T0xE", EdgeDeviceChange.None), identity);
        Assert.Equal("GET", Assert.Single(_hub.Requests).Method);
    }

    [Fact]
    public async Task A_plain_device_becomes_an_edge_device_under_its_etag_with_its_keys()
    {
        _hub.Respond(200, """{"deviceId":"gw-001","etag":"MQ==","status":"enabled","capabilities":{"iotEdge":false},"authentication":{"type":"sas","symmetricKey":{"primaryKey":"T0xE","secondaryKey":"U0s="}}}""");
        _hub.Respond(200, """{"deviceId":"gw-001","etag":"Mg==","capabilities":{"iotEdge":true}}""");

        var identity = await _client.EnsureEdgeDeviceAsync("gw-001", CancellationToken.None);

        Assert.Equal(new EdgeDeviceIdentity("gw-001", "T0xE", EdgeDeviceChange.MadeEdge), identity);
        var put = _hub.Requests[1];
        Assert.Equal("PUT", put.Method);
        Assert.Equal("\"MQ==\"", put.Headers["If-Match"]);
        using var body = JsonDocument.Parse(put.Body);
        Assert.True(body.RootElement.GetProperty("capabilities").GetProperty("iotEdge").GetBoolean());
        Assert.Equal("T0xE", body.RootElement.GetProperty("authentication").GetProperty("symmetricKey").GetProperty("primaryKey").GetString());
    }

    [Fact]
    public async Task A_manifest_is_posted_to_the_devices_apply_configuration_content()
    {
        const string Manifest = """{"modulesContent":{"$edgeAgent":{"properties.desired":{"schemaVersion":"1.1"}}}}""";
        _hub.Respond(204, "", null);

        await _client.ApplyConfigurationContentAsync("gw-001", Encoding.UTF8.GetBytes(Manifest), CancellationToken.None);

        var request = Assert.Single(_hub.Requests);
        Assert.Equal(("POST", "/devices/gw-001/applyConfigurationContent", "?api-version=2021-04-12"), (request.Method, request.Path, request.Query));
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(Manifest, request.Body);
        AssertSignedForTheRegistry(request);
    }

    [Fact]
    public async Task A_manifest_the_hub_refuses_fails_with_its_error_code()
    {
        _hub.Respond(400, """{"Message":"ErrorCode:ArgumentInvalid;modulesContent is invalid"}""", "ArgumentInvalid");

        var error = await Assert.ThrowsAsync<RequestFailedException>(() =>
            _client.ApplyConfigurationContentAsync("gw-001", "{}"u8.ToArray(), CancellationToken.None));

        Assert.Equal((400, "ArgumentInvalid"), (error.Status, error.ErrorCode));
        Assert.Contains("modulesContent is invalid", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Checks the signature as the hub does: HMAC-SHA256 of "{sr}\n{se}" with the policy key, for {host}/devices, not expired.</summary>
    private static void AssertSignedForTheRegistry(RecordedRequest request)
    {
        var header = request.Headers["Authorization"]!;
        Assert.StartsWith("SharedAccessSignature ", header, StringComparison.Ordinal);
        var fields = header["SharedAccessSignature ".Length..].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("127.0.0.1/devices", WebUtility.UrlDecode(fields["sr"]));
        Assert.Equal("registryReadWrite", fields["skn"]);
        Assert.True(long.Parse(fields["se"], System.Globalization.CultureInfo.InvariantCulture) > Now.ToUnixTimeSeconds());
        Assert.Equal(SasToken.Sign($"{fields["sr"]}\n{fields["se"]}", PolicyKey), WebUtility.UrlDecode(fields["sig"]));
    }

    private sealed record RecordedRequest(string Method, string Path, string Query, WebHeaderCollection Headers, string Body);

    private sealed class LoopbackRegistry
    {
        private readonly Queue<(int Status, string Body, string? ErrorCode, int? RetryAfter)> _responses = new();
        private LoopbackHttpServer? _server;

        public Uri Endpoint => _server!.Endpoint;
        public List<RecordedRequest> Requests { get; } = [];

        public void Respond(int status, string body, string? errorCode = null, int? retryAfterSeconds = null) =>
            _responses.Enqueue((status, body, errorCode, retryAfterSeconds));

        public void Start() => _server = new LoopbackHttpServer(ServeAsync);

        public async Task StopAsync()
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }

        private async Task ServeAsync(HttpListenerContext context)
        {
            var body = await LoopbackHttpServer.ReadBodyAsync(context.Request);
            var headers = new WebHeaderCollection { context.Request.Headers };
            Requests.Add(new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Url.Query, headers, body));

            var (status, responseBody, errorCode, retryAfter) = _responses.Count > 0 ? _responses.Dequeue() : (500, "no scripted response", null, null);
            if (retryAfter is { } seconds)
            {
                context.Response.Headers["Retry-After"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (errorCode is not null)
            {
                context.Response.Headers["iothub-errorcode"] = errorCode;
            }
            await LoopbackHttpServer.WriteJsonAsync(context.Response, status, responseBody);
        }
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
