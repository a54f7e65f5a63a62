using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.Edge.Deployment;

namespace Pdm.Cli;

/// <summary>
/// `pdm edge deploy --device &lt;id&gt; --config &lt;file&gt;`: through the function app's API when one is given (it creates the
/// IoT Edge identity and applies the manifest, audited), otherwise only renders the manifest to a file and says that
/// nothing was deployed.
/// </summary>
internal static class EdgeCommand
{
    public const string ApiUrlVariable = "PDM_API_URL";
    public const string ApiKeyVariable = "PDM_API_KEY";

    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "The gateway's IoT Edge device id", Required = true };
        var config = new Option<FileInfo>("--config") { Description = "The gateway's configuration (docs/edge-configuration.md)", Required = true };
        var image = new Option<string?>("--image") { Description = "The pdmEdge image with a version tag (default: the function app's Pdm__EdgeDeployment__ModuleImage; required without --api)" };
        var api = new Option<string?>("--api") { Description = $"The function app's base URL, e.g. https://func-pdm.azurewebsites.net (or {ApiUrlVariable})" };
        var apiKey = new Option<string?>("--api-key") { Description = $"A admin API key (or {ApiKeyVariable})" };
        var output = new Option<FileInfo?>("--out") { Description = "Without --api: where to write the manifest (default .pdm/edge/<device>.deployment.json)" };
        var deploy = new Command("deploy", "Create a gateway's IoT Edge identity and apply the deployment manifest (edge-module/deployment.template.json)")
        {
            device, config, image, api, apiKey, output,
        };
        deploy.SetAction(async (result, cancellationToken) =>
        {
            var configuration = ReadConfiguration(result.GetValue(config)!);
            if (configuration is null)
            {
                return 2;
            }
            var url = result.GetValue(api) ?? Environment.GetEnvironmentVariable(ApiUrlVariable);
            var deviceId = result.GetValue(device)!;
            if (!string.IsNullOrEmpty(url))
            {
                var key = result.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
                if (string.IsNullOrEmpty(key))
                {
                    Console.Error.WriteLine($"--api-key (or {ApiKeyVariable}) is required with --api: a admin key.");
                    return 2;
                }
                return await DeployThroughApiAsync(new Uri(url.TrimEnd('/') + "/"), key, deviceId, result.GetValue(image), configuration.Value,
                    cancellationToken);
            }
            var path = result.GetValue(output)?.FullName ?? Path.Combine(CliPaths.RepoRoot, ".pdm", "edge", $"{deviceId}.deployment.json");
            return await RenderOnlyAsync(deviceId, result.GetValue(image), configuration.Value, path, cancellationToken);
        });
        return new Command("edge", "IoT Edge gateways") { deploy };
    }

    private static JsonElement? ReadConfiguration(FileInfo file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file.FullName));
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            Console.Error.WriteLine($"--config {file}: {ex.Message}");
            return null;
        }
    }

    private static async Task<int> RenderOnlyAsync(string deviceId, string? image, JsonElement configuration, string path,
        CancellationToken cancellationToken)
    {
        var render = EdgeDeploymentManifest.Default.Render(new EdgeDeploymentRequest(deviceId, image ?? "", configuration));
        if (!render.IsValid)
        {
            PrintErrors(render.Errors.Select(e => (e.Path, e.Reason)));
            return 2;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, render.ToUtf8Bytes(), cancellationToken);
        Console.WriteLine($"""
            No API given (--api or {ApiUrlVariable}): nothing was deployed and no device identity was created.
            The manifest for {deviceId} is in {path}.
            Deploy it through the function app:  ./pdm edge deploy --device {deviceId} --config <file> --api <url> --api-key <admin key>
            or apply the file yourself:          az iot edge set-modules --hub-name <hub> --device-id {deviceId} --content {path}
            """);
        return 0;
    }

    private static async Task<int> DeployThroughApiAsync(Uri api, string key, string deviceId, string? image, JsonElement configuration,
        CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.PostAsJsonAsync($"api/v1/devices/{Uri.EscapeDataString(deviceId)}/edge-deployment",
            new { moduleImage = image, configuration }, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            body = null;
        }
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"The API answered {(int)response.StatusCode}: {body?["detail"]?.GetValue<string>() ?? text}");
            if (body?["errors"] is JsonObject errors)
            {
                PrintErrors(errors.SelectMany(e => e.Value!.AsArray().Select(r => (e.Key, r!.GetValue<string>()))));
            }
            return response.StatusCode is System.Net.HttpStatusCode.BadRequest ? 2 : 1;
        }
        var applied = body?["applied"]?.GetValue<bool>() == true;
        Console.WriteLine(applied
            ? $"Applied to {deviceId} (image {body?["moduleImage"]}, IoT Edge identity {body?["identity"]})."
            : $"NOT applied to {deviceId}: {body?["note"]}");
        if (body?["manifestPath"]?.GetValue<string>() is { } manifestPath)
        {
            Console.WriteLine($"Manifest: {manifestPath}");
        }
        if (body?["connectionString"]?.GetValue<string>() is { } connectionString)
        {
            Console.WriteLine($"""
                On the gateway (keep the key secret):
                  sudo iotedge config mp --connection-string '{connectionString}'
                  sudo iotedge config apply
                """);
        }
        return 0;
    }

    private static void PrintErrors(IEnumerable<(string Field, string Reason)> errors)
    {
        foreach (var (field, reason) in errors)
        {
            Console.Error.WriteLine($"  {field}: {reason}");
        }
    }
}
