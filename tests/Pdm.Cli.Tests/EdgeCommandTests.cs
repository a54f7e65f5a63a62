using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.Cli.Tests;

public sealed class EdgeCommandTests : IDisposable
{
    private const string Image = "contoso.azurecr.io/pdm-edge:0.3.1";
    private readonly string _directory = Directory.CreateTempSubdirectory("pdm-edge-cli-").FullName;

    private const string Configuration = """
        { "schemaVersion": 1, "gatewayId": "gw-hall-3",
          "modbus": [ { "name": "press-7-plc", "machineId": "EG_M007", "tcp": { "host": "192.168.10.21", "port": 502 }, "unitId": 1,
                        "registers": [ { "sensor": "temperature", "table": "holding", "address": 0, "type": "float32" } ] } ] }
        """;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Without_an_api_it_writes_the_manifest_and_says_nothing_was_deployed()
    {
        var manifestPath = Path.Combine(_directory, "out", "gw.json");

        var result = await CliRunner.RunAsync("edge", "deploy", "--device", "gw-hall-3", "--config", ConfigFile(Configuration),
            "--image", Image, "--out", manifestPath);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("nothing was deployed", result.Output, StringComparison.Ordinal);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath))!;
        Assert.Equal(Image, manifest["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]!["pdmEdge"]!["settings"]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bad_configuration_exits_2_with_each_field_and_writes_nothing()
    {
        var manifestPath = Path.Combine(_directory, "gw.json");

        var result = await CliRunner.RunAsync("edge", "deploy", "--device", "gw-other", "--config", ConfigFile(Configuration),
            "--image", "pdm-edge:latest", "--out", manifestPath);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("configuration.gatewayId:", result.Error, StringComparison.Ordinal);
        Assert.Contains("moduleImage:", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(manifestPath));
    }

    [Fact]
    public async Task With_an_api_it_posts_the_configuration_with_the_key_and_prints_the_provisioning_step()
    {
        await using var api = new RecordingApi(200, """
            {"deviceId":"gw-hall-3","moduleImage":"contoso.azurecr.io/pdm-edge:0.3.1","applied":true,"identity":"created",
             "connectionString":"HostName=h.azure-devices.net;DeviceId=gw-hall-3;SharedAccessKey=UEs=","note":"Applied"}
            """);

        var result = await CliRunner.RunAsync("edge", "deploy", "--device", "gw-hall-3", "--config", ConfigFile(Configuration),
            "--image", Image, "--api", api.Endpoint.AbsoluteUri, "--api-key", "pdm_test_key");

        Assert.True(result.ExitCode == 0, result.Error);
        var (method, path, authorization, body) = Assert.Single(api.Requests);
        Assert.Equal(("POST", "/api/v1/devices/gw-hall-3/edge-deployment", "Bearer pdm_test_key"), (method, path, authorization));
        var sent = JsonNode.Parse(body)!;
        Assert.Equal(Image, sent["moduleImage"]!.GetValue<string>());
        Assert.Equal("EG_M007", sent["configuration"]!["modbus"]![0]!["machineId"]!.GetValue<string>());
        Assert.Contains("Applied to gw-hall-3", result.Output, StringComparison.Ordinal);
        Assert.Contains("iotedge config mp --connection-string 'HostName=h.azure-devices.net;DeviceId=gw-hall-3;SharedAccessKey=UEs='",
            result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_api_refusal_prints_the_fields_and_exits_2()
    {
        await using var api = new RecordingApi(400, """
            {"title":"One or more validation errors occurred.","detail":"moduleImage: required","errors":{"moduleImage":["the module image is required"]}}
            """);

        var result = await CliRunner.RunAsync("edge", "deploy", "--device", "gw-hall-3", "--config", ConfigFile(Configuration),
            "--api", api.Endpoint.AbsoluteUri, "--api-key", "pdm_test_key");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("moduleImage: the module image is required", result.Error, StringComparison.Ordinal);
    }

    private string ConfigFile(string json)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Answers every request with one scripted response and records it.</summary>
    private sealed class RecordingApi : IAsyncDisposable
    {
        private readonly LoopbackHttpServer _server;

        public RecordingApi(int status, string body) =>
            _server = new LoopbackHttpServer(async context =>
            {
                Requests.Add((context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"],
                    await LoopbackHttpServer.ReadBodyAsync(context.Request)));
                await LoopbackHttpServer.WriteJsonAsync(context.Response, status, body);
            });

        public Uri Endpoint => _server.Endpoint;
        public List<(string Method, string Path, string? Authorization, string Body)> Requests { get; } = [];

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
