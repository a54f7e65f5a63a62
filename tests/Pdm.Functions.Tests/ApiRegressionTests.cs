using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Pdm.Functions.Tests;

/// <summary>
/// What the issue-9 probe found, each on the real app over a real Kestrel: bodies read before the key was checked,
/// no body limits, no rate limits, empty or 500 answers to client mistakes.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ApiRegressionTests(ApiFixture fixture)
{
    /// <summary>A key of the right shape ("pdm_" + 43 base64url characters) that was never issued: it is looked up.</summary>
    public static string WellFormedWrongKey(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return "pdm_" + Base64Url.EncodeToString(bytes);
    }

    [Fact]
    public async Task Unauthenticated_28_MB_body_is_refused_with_401_before_it_is_read()
    {
        // Raw socket: send the headers and 64 KB of a 28 MB body, then wait. The answer must come without the rest
        // (an app that binds the body first waits for all 28 MB and never answers here).
        var address = fixture.Factory.BaseAddress;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        const long declared = 28L * 1024 * 1024;
        var head = $"POST /api/v1/tenants HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\n" +
                   $"Authorization: Bearer {WellFormedWrongKey(new Random(1))}\r\nContent-Length: {declared}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(Encoding.ASCII.GetBytes("{\"name\":\"" + new string('a', 64 * 1024)));
        await stream.FlushAsync();

        var clock = Stopwatch.StartNew();
        var answer = await ReadHeadAsync(stream, TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 401", answer);
        Assert.Contains("application/problem+json", answer, StringComparison.OrdinalIgnoreCase);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"401 took {clock.Elapsed}");
    }

    [Fact]
    public async Task Oversized_authenticated_body_is_413_problem_naming_the_limit()
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        var body = "{\"name\":\"" + new string('a', 100_000) + "\"}";

        using var sized = await admin.PostAsync("api/v1/tenants", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ProblemAsync(sized, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("16384 bytes", problem.GetProperty("detail").GetString());

        // Chunked, no Content-Length: the limit holds while reading.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/tenants") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var streamed = await admin.SendAsync(request);
        await ProblemAsync(streamed, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Wrong_keys_from_one_address_get_429_with_retry_after_and_other_addresses_do_not()
    {
        await using var factory = fixture.CreateFactory(new Dictionary<string, string>
        {
            ["Pdm__Api__FailedAuthPerAddress"] = "5",
            ["Pdm__Api__FailedAuthWindow"] = "00:10:00",
        });
        using var client = factory.Client();
        var random = new Random(7);
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await SendAsync(client, WellFormedWrongKey(random), "198.51.100.20");
            await ProblemAsync(wrong, HttpStatusCode.Unauthorized);
        }

        using var blocked = await SendAsync(client, WellFormedWrongKey(random), "198.51.100.20");
        await ProblemAsync(blocked, HttpStatusCode.TooManyRequests);
        var retryAfter = blocked.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        // Blocked before the key is looked up: a valid key from that address waits too.
        using var validButBlocked = await SendAsync(client, fixture.Keys["viewer"], "198.51.100.20");
        await ProblemAsync(validButBlocked, HttpStatusCode.TooManyRequests);

        // The address comes from X-Forwarded-For, which the Functions host (and the dev host) set for the client.
        using var otherAddress = await SendAsync(client, WellFormedWrongKey(random), "198.51.100.21");
        await ProblemAsync(otherAddress, HttpStatusCode.Unauthorized);
        using var otherValid = await SendAsync(client, fixture.Keys["viewer"], "198.51.100.21");
        Assert.Equal(HttpStatusCode.OK, otherValid.StatusCode);
    }

    [Fact]
    public async Task Host_invocations_and_health_checks_never_count_as_failed_authentications()
    {
        // The demo found it: with one scheme registered, ASP.NET Core made it the default, so every /Ingest invocation
        // (which carries no key) counted as a failed authentication, and after a minute of ingest the API refused all.
        await using var factory = fixture.CreateFactory(new Dictionary<string, string>
        {
            ["Pdm__Api__FailedAuthPerAddress"] = "3",
            ["Pdm__Api__FailedAuthWindow"] = "00:10:00",
        });
        using var client = factory.Client();
        for (var i = 0; i < 5; i++)
        {
            using var timer = await client.PostAsync("ReplayDeadLetters", new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, timer.StatusCode);
            using var health = await client.GetAsync("api/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using var valid = await SendAsync(client, fixture.Keys["viewer"], "127.0.0.1");
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
    }

    [Fact]
    public async Task A_key_over_its_rate_gets_429_with_retry_after()
    {
        await using var factory = fixture.CreateFactory(new Dictionary<string, string>
        {
            ["Pdm__Api__RequestsPerKey"] = "3",
            ["Pdm__Api__RateWindow"] = "00:10:00",
        });
        using var client = factory.Client(fixture.Keys["viewer"]);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await client.GetAsync("api/v1/machines");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var limited = await client.GetAsync("api/v1/machines");
        await ProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        // Another key is its own partition.
        using var other = factory.Client(fixture.Keys["admin"]);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("api/v1/machines")).StatusCode);
    }

    [Fact]
    public async Task Text_plain_body_is_415_problem()
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        using var response = await admin.PostAsync("api/v1/tenants", new StringContent("{\"name\":\"x\"}", Encoding.UTF8, "text/plain"));
        var problem = await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("text/plain", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("nul\0inside", "control character U+0000")]
    [InlineData("evil\u202Egnp.exe", "bidirectional control U+202E")]
    [InlineData("\u2066isolated\u2069", "bidirectional control U+2066")]
    [InlineData("   ", "required")]
    public async Task Bad_tenant_names_are_400_naming_the_field(string name, string reason)
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        using var response = await admin.PostAsJsonAsync("api/v1/tenants", new { name });
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors").GetProperty("name");
        Assert.Contains(reason, errors[0].GetString());
    }

    [Fact]
    public async Task Key_name_over_100_characters_is_400_and_a_1_MB_one_is_413()
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        using var long101 = await admin.PostAsJsonAsync($"api/v1/tenants/{fixture.TenantA}/api-keys", new { name = new string('k', 101), role = "viewer" });
        var problem = await ProblemAsync(long101, HttpStatusCode.BadRequest);
        Assert.Contains("at most 100", problem.GetProperty("errors").GetProperty("name")[0].GetString());

        using var huge = await admin.PostAsJsonAsync($"api/v1/tenants/{fixture.TenantA}/api-keys", new { name = new string('k', 1024 * 1024), role = "viewer" });
        await ProblemAsync(huge, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Duplicate_tenant_name_is_409()
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        var name = $"dup-{Guid.NewGuid():N}"[..20];
        using var first = await admin.PostAsJsonAsync("api/v1/tenants", new { name });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        using var second = await admin.PostAsJsonAsync("api/v1/tenants", new { name = $"  {name} " });
        var problem = await ProblemAsync(second, HttpStatusCode.Conflict);
        Assert.Contains(name, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("api/v1/rejects?limit=abc")]
    [InlineData("api/v1/rejects?limit=0")]
    [InlineData("api/v1/rejects?limit=5000")]
    [InlineData("api/v1/machines/EG_M001/readings?limit=abc")]
    [InlineData("api/v1/machines/EG_M001/scores?limit=-1")]
    [InlineData("api/v1/machines/EG_M001/predictions?limit=2147483648")]
    public async Task Bad_limit_is_400_naming_limit_on_every_endpoint(string url)
    {
        using var reader = fixture.Factory.Client(fixture.Keys["viewer"]);
        using var response = await reader.GetAsync(url);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("limit must be a whole number from 1 to", problem.GetProperty("errors").GetProperty("limit")[0].GetString());
    }

    [Fact]
    public async Task Framework_errors_are_problem_details_too()
    {
        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        await ProblemAsync(await admin.GetAsync("api/v1/no-such-route"), HttpStatusCode.NotFound);
        await ProblemAsync(await admin.PutAsJsonAsync("api/v1/tenants", new { name = "x" }), HttpStatusCode.MethodNotAllowed);
        var malformed = await ProblemAsync(await admin.PostAsync("api/v1/tenants", new StringContent("{\"name\": 5}", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);
        Assert.Contains("$.name", malformed.GetRawText());
        // Kestrel itself refuses a NUL in the path (%00) before any app sees it; a bidi control reaches the app.
        using var reader = fixture.Factory.Client(fixture.Keys["viewer"]);
        var badId = await ProblemAsync(await reader.GetAsync("api/v1/machines/EG%E2%80%AEM001"), HttpStatusCode.BadRequest);
        Assert.Contains("U+202E", badId.GetProperty("errors").GetProperty("machineId")[0].GetString());
        var badSensor = await ProblemAsync(await reader.GetAsync("api/v1/machines/EG_M001/readings?sensor=a%00b"), HttpStatusCode.BadRequest);
        Assert.Contains("U+0000", badSensor.GetProperty("errors").GetProperty("sensor")[0].GetString());
        using var anonymous = fixture.Factory.Client();
        await ProblemAsync(await anonymous.GetAsync("api/v1/machines"), HttpStatusCode.Unauthorized);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string key, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/machines");
        request.Headers.Authorization = new("Bearer", key);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal((int)expected, json.RootElement.GetProperty("status").GetInt32());
        return json.RootElement.Clone();
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[16 * 1024];
        var text = new StringBuilder();
        try
        {
            while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cancel.Token);
                if (read == 0)
                {
                    break;
                }
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no answer within {timeout} while the body was still unsent: the server is waiting to read it");
        }
        return text.ToString();
    }
}
