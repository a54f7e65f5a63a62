using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Pdm.IotHub;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>
/// <c>POST /api/v1/devices/{deviceId}/edge-deployment</c>: locally (no IoT Hub) the manifest is written and the answer
/// says so; with a hub configured, the route creates the IoT Edge identity and applies the manifest, seen here by a
/// loopback hub that checks the SAS token, the api-version, the paths and the bodies.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeDeploymentApiTests(ApiFixture fixture)
{
    public const string Image = "contoso.azurecr.io/pdm-edge:0.3.1";

    /// <summary>A configuration without gatewayId (the route fills in the device id), as the authorization table sends it.</summary>
    public static object Body() => new
    {
        moduleImage = Image,
        configuration = new
        {
            schemaVersion = 1,
            modbus = new[]
            {
                new
                {
                    name = "press-7-plc", machineId = "EG_M007", tcp = new { host = "192.168.10.21", port = 502 }, unitId = 1,
                    registers = new[] { new { sensor = "temperature", table = "holding", address = 0, type = "float32" } },
                },
            },
        },
    };

    [Fact]
    public async Task Without_an_iot_hub_the_manifest_is_written_not_applied_and_the_answer_says_so()
    {
        var deviceId = AuthorizationTable.Unique("edge-local");
        using var api = fixture.Factory.Client(fixture.Keys["admin"]);

        var result = await ApiFixture.ReadAsync<JsonElement>(await api.PostAsJsonAsync($"api/v1/devices/{deviceId}/edge-deployment", Body()));

        Assert.False(result.GetProperty("applied").GetBoolean());
        Assert.Equal("local-registry", result.GetProperty("identity").GetString());
        Assert.Contains("not applied", result.GetProperty("note").GetString(), StringComparison.Ordinal);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(result.GetProperty("manifestPath").GetString()!))!;
        Assert.Equal(Image, manifest["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]!["pdmEdge"]!["settings"]!["image"]!.GetValue<string>());
        Assert.Equal(deviceId, manifest["modulesContent"]!["pdmEdge"]!["properties.desired"]!["config"]!["gatewayId"]!.GetValue<string>());

        var devices = await ApiFixture.ReadAsync<JsonElement>(await api.GetAsync("api/v1/devices"));
        Assert.Contains(devices.GetProperty("items").EnumerateArray(), d => d.GetProperty("deviceId").GetString() == deviceId);
        Assert.Equal(1, await AuditCountAsync(deviceId));
    }

    [Fact]
    public async Task A_bad_configuration_and_image_are_400_naming_each_field()
    {
        using var api = fixture.Factory.Client(fixture.Keys["admin"]);
        var body = JsonNode.Parse(JsonSerializer.Serialize(Body()))!;
        body["moduleImage"] = "contoso.azurecr.io/pdm-edge";
        body["configuration"]!["modbus"]![0]!["tcp"]!["port"] = 70000;

        var response = await api.PostAsJsonAsync($"api/v1/devices/{AuthorizationTable.Unique("edge-bad")}/edge-deployment", body);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("moduleImage", out _), text);
        Assert.Contains(errors.EnumerateObject(), e => e.Name.StartsWith("configuration.modbus[0].tcp.port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_configuration_is_400_naming_it()
    {
        using var api = fixture.Factory.Client(fixture.Keys["admin"]);

        var response = await api.PostAsJsonAsync($"api/v1/devices/{AuthorizationTable.Unique("edge-none")}/edge-deployment", new { moduleImage = Image });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty("configuration", out _));
    }

    [Fact]
    public async Task With_an_iot_hub_the_edge_identity_is_created_and_the_manifest_applied()
    {
        var policyKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var hub = new LoopbackHub("hub.example.azure-devices.net", policyKey);
        var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__EdgeDeployment__ManifestDirectory"] = "",
            ["Pdm__IotHubRegistryConnectionString"] = $"HostName=hub.example.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey={policyKey}",
            ["Pdm__IotHubRegistryEndpoint"] = hub.Endpoint.AbsoluteUri,
        });
        var deviceId = AuthorizationTable.Unique("edge-hub");
        using var api = factory.Client(fixture.Keys["admin"]);

        var result = await ApiFixture.ReadAsync<JsonElement>(await api.PostAsJsonAsync($"api/v1/devices/{deviceId}/edge-deployment", Body()));

        Assert.True(result.GetProperty("applied").GetBoolean());
        Assert.Equal("created", result.GetProperty("identity").GetString());
        Assert.StartsWith($"HostName=hub.example.azure-devices.net;DeviceId={deviceId};SharedAccessKey=", result.GetProperty("connectionString").GetString(), StringComparison.Ordinal);
        Assert.Equal(new[] { "GET", "PUT", "POST" }, hub.Requests.Select(r => r.Method));
        Assert.All(hub.Requests, r => Assert.Null(r.Problem));
        var created = JsonNode.Parse(hub.Requests[1].Body)!;
        Assert.True(created["capabilities"]!["iotEdge"]!.GetValue<bool>());
        var apply = hub.Requests[2];
        Assert.Equal($"/devices/{deviceId}/applyConfigurationContent", apply.Path);
        var manifest = JsonNode.Parse(apply.Body)!;
        Assert.Equal(deviceId, manifest["modulesContent"]!["pdmEdge"]!["properties.desired"]!["config"]!["gatewayId"]!.GetValue<string>());
        Assert.IsType<string>(manifest["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["systemModules"]!["edgeHub"]!["settings"]!["createOptions"]!.GetValue<string>());
        Assert.Equal(1, await AuditCountAsync(deviceId));
    }

    [Fact]
    public async Task A_hub_refusal_is_a_502_naming_its_error_code_and_nothing_is_audited()
    {
        var policyKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var hub = new LoopbackHub("hub.example.azure-devices.net", policyKey) { RefuseApply = true };
        var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__EdgeDeployment__ManifestDirectory"] = "",
            ["Pdm__IotHubRegistryConnectionString"] = $"HostName=hub.example.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey={policyKey}",
            ["Pdm__IotHubRegistryEndpoint"] = hub.Endpoint.AbsoluteUri,
        });
        var deviceId = AuthorizationTable.Unique("edge-refused");
        using var api = factory.Client(fixture.Keys["admin"]);

        var response = await api.PostAsJsonAsync($"api/v1/devices/{deviceId}/edge-deployment", Body());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("ArgumentInvalid", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await AuditCountAsync(deviceId));
    }

    private async Task<long> AuditCountAsync(string deviceId)
    {
        await using var connection = new NpgsqlConnection(fixture.Database.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pdm.audit_log WHERE action = 'device.edge-deploy' AND target = $1", connection)
        {
            Parameters = { new() { Value = deviceId } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed record HubRequest(string Method, string Path, string Body, string? Problem);

    /// <summary>
    /// IoT Hub's registry as far as this route uses it, on loopback: every request must carry a valid registryReadWrite
    /// token for <c>{host}/devices</c> and api-version 2021-04-12 (else 401/400); devices live in memory.
    /// </summary>
    private sealed class LoopbackHub : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, string> _devices = new();
        private readonly string _host;
        private readonly string _policyKey;
        private readonly LoopbackHttpServer _server;

        public LoopbackHub(string host, string policyKey)
        {
            _host = host;
            _policyKey = policyKey;
            _server = new LoopbackHttpServer(ServeAsync);
        }

        public Uri Endpoint => _server.Endpoint;
        public bool RefuseApply { get; init; }
        public List<HubRequest> Requests { get; } = [];

        private async Task ServeAsync(HttpListenerContext context)
        {
            var body = await LoopbackHttpServer.ReadBodyAsync(context.Request);
            var path = context.Request.Url!.AbsolutePath;
            var problem = Check(context.Request);
            lock (Requests)
            {
                Requests.Add(new HubRequest(context.Request.HttpMethod, path, body, problem));
            }
            var (status, answer, code) = problem is not null ? (401, problem, "IotHubUnauthorizedAccess") : Answer(context.Request.HttpMethod, path, body);
            if (code is not null)
            {
                context.Response.Headers["iothub-errorcode"] = code;
            }
            await LoopbackHttpServer.WriteJsonAsync(context.Response, status, answer);
        }

        private (int, string, string?) Answer(string method, string path, string body)
        {
            var parts = path.Trim('/').Split('/');
            var deviceId = Uri.UnescapeDataString(parts[1]);
            return (method, parts.Length) switch
            {
                ("GET", 2) => _devices.TryGetValue(deviceId, out var device) ? (200, device, null) : (404, "{}", "DeviceNotFound"),
                ("PUT", 2) => (200, _devices[deviceId] = body, null),
                ("POST", 3) when parts[2] == "applyConfigurationContent" && _devices.ContainsKey(deviceId) =>
                    RefuseApply ? (400, """{"Message":"ErrorCode:ArgumentInvalid;bad manifest"}""", "ArgumentInvalid")
                    : JsonNode.Parse(body)?["modulesContent"] is JsonObject ? (204, "", null) : (400, "{}", "ArgumentInvalid"),
                _ => (404, "{}", "NotFound"),
            };
        }

        private string? Check(HttpListenerRequest request)
        {
            if (request.QueryString["api-version"] != IotHubRegistryClient.ApiVersion)
            {
                return $"api-version {request.QueryString["api-version"]}";
            }
            var header = request.Headers["Authorization"] ?? "";
            if (!header.StartsWith("SharedAccessSignature ", StringComparison.Ordinal))
            {
                return "no SAS token";
            }
            var fields = header["SharedAccessSignature ".Length..].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            if (WebUtility.UrlDecode(fields["sr"]) != $"{_host}/devices" || fields["skn"] != "registryReadWrite")
            {
                return $"token for {WebUtility.UrlDecode(fields["sr"])} / {fields["skn"]}";
            }
            if (long.Parse(fields["se"], System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            {
                return "expired";
            }
            return SasToken.Sign($"{fields["sr"]}\n{fields["se"]}", _policyKey) == WebUtility.UrlDecode(fields["sig"]) ? null : "bad signature";
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
