using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Azure;
using Microsoft.Extensions.Options;
using Pdm.Edge.Deployment;
using Pdm.IotHub;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// Settings of edge deployments (environment variables <c>Pdm__EdgeDeployment__ModuleImage</c> and so on).
/// </summary>
public sealed class EdgeDeploymentOptions
{
    public const string Section = "Pdm:EdgeDeployment";

    /// <summary>The pdmEdge image gateways run unless a request names another, e.g. <c>contoso.azurecr.io/pdm-edge:0.1.0</c>.</summary>
    public string? ModuleImage { get; set; }

    /// <summary>A private registry edgeAgent pulls from (host name); with <see cref="RegistryUsername"/> and <see cref="RegistryPassword"/>.</summary>
    public string? RegistryAddress { get; set; }

    public string? RegistryUsername { get; set; }

    /// <summary>A registry token's password: keep it in Key Vault (a Key Vault reference in the app setting).</summary>
    public string? RegistryPassword { get; set; }

    /// <summary>
    /// Where manifests are written instead of applied, when there is no IoT Hub (the local stack sets it). Set, the
    /// route creates the gateway in the local registry stand-in and writes <c>{deviceId}.deployment.json</c> here.
    /// </summary>
    public string? ManifestDirectory { get; set; }

    [Range(typeof(TimeSpan), "00:00:05", "00:05:00")] public TimeSpan HubTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// <c>POST /api/v1/devices/{deviceId}/edge-deployment</c> (tenant admin): the gateway's IoT Edge identity and its
/// deployment manifest (edge-module/deployment.template.json with the module image and this gateway's configuration),
/// applied to the device through IoT Hub's applyConfigurationContent. Without an IoT Hub the manifest is written to
/// <see cref="EdgeDeploymentOptions.ManifestDirectory"/> and the answer says it was not applied.
/// </summary>
internal static partial class EdgeDeploymentEndpoints
{
    public static void MapEdgeDeployment(this IEndpointRouteBuilder v1) =>
        v1.MapPost("/devices/{deviceId}/edge-deployment", DeployAsync)
            .WithName("DeployEdgeGateway")
            .WithSummary("Create the gateway's IoT Edge identity and apply the module's deployment manifest (admin)");

    private static async Task<IResult> DeployAsync(string deviceId, EdgeDeploymentBody body, HttpContext http, DeviceStore devices,
        TenantStore tenants, IEdgeDeviceRegistry edgeRegistry, IDeviceIdentityRegistry localRegistry, IOptions<EdgeDeploymentOptions> settings,
        IOptions<PdmOptions> pdm, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(EdgeDeploymentEndpoints).FullName!);
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Deploying to a gateway needs an admin key.");
        }
        var options = settings.Value;
        if (body.Configuration is not { ValueKind: JsonValueKind.Object } configuration)
        {
            return Problems.Invalid("configuration", "configuration is required: the gateway's configuration document (docs/edge-configuration.md)");
        }
        var registry = string.IsNullOrEmpty(options.RegistryAddress) ? null
            : new ContainerRegistryCredentials(options.RegistryAddress, options.RegistryUsername ?? "", options.RegistryPassword ?? "");
        var render = EdgeDeploymentManifest.Default.Render(
            new EdgeDeploymentRequest(deviceId, body.ModuleImage ?? options.ModuleImage ?? "", configuration, registry));
        if (!render.IsValid)
        {
            return TypedResults.ValidationProblem(
                render.Errors.GroupBy(e => e.Path).ToDictionary(g => g.Key, g => g.Select(e => e.Reason).ToArray()),
                detail: string.Join("; ", render.Errors.Take(5)));
        }
        try
        {
            await devices.RegisterDeviceAsync(tenant, deviceId, cancellationToken);
        }
        catch (DeviceIdTakenException)
        {
            // The path names a device: another tenant's is "not found" here, as on the other device routes.
            return Problems.NotFound($"no device '{deviceId}' in this tenant, and the id is not free to register");
        }

        var image = body.ModuleImage ?? options.ModuleImage!;
        var manifest = render.ToUtf8Bytes();
        EdgeDeploymentResult result;
        if (options.ManifestDirectory is { Length: > 0 } directory)
        {
            // No IoT Hub: the local registry stand-in makes a plain device (its MQTT user); nothing applies manifests.
            var identity = await localRegistry.CreateOrUpdateAsync(deviceId, cancellationToken);
            Directory.CreateDirectory(directory);
            var path = Path.GetFullPath(Path.Combine(directory, $"{deviceId}.deployment.json"));
            await File.WriteAllBytesAsync(path, manifest, cancellationToken);
            ManifestWritten(logger, deviceId, path);
            result = new EdgeDeploymentResult(deviceId, image, Applied: false, "local-registry", path, identity.PrimaryKey,
                pdm.Value.MqttEndpoint,
                "No IoT Hub is configured: the device was created in the local registry stand-in (a plain MQTT device) and the manifest was written to manifestPath, not applied.");
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.HubTimeout);
            EdgeDeviceIdentity identity;
            try
            {
                identity = await edgeRegistry.EnsureEdgeDeviceAsync(deviceId, timeout.Token);
                await edgeRegistry.ApplyConfigurationContentAsync(deviceId, manifest, timeout.Token);
            }
            catch (RequestFailedException ex)
            {
                HubRefused(logger, deviceId, ex.Status, ex.ErrorCode);
                return TypedResults.Problem($"IoT Hub answered {ex.Status} ({ex.ErrorCode ?? "no error code"}) for device '{deviceId}'.",
                    statusCode: StatusCodes.Status502BadGateway, title: "IoT Hub refused the request");
            }
            Applied(logger, deviceId, image, identity.Change);
            result = new EdgeDeploymentResult(deviceId, image, Applied: true, identity.Change switch
            {
                EdgeDeviceChange.Created => "created",
                EdgeDeviceChange.MadeEdge => "made-edge",
                _ => "unchanged",
            }, null, identity.PrimaryKey, HubHostName(pdm.Value),
                "Applied to the device through IoT Hub; edgeAgent pulls the modules when the gateway is connected.");
        }
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "device.edge-deploy", deviceId,
            JsonSerializer.Serialize(new Dictionary<string, object> { ["moduleImage"] = image, ["applied"] = result.Applied }), cancellationToken);
        return TypedResults.Ok(result);
    }

    private static string? HubHostName(PdmOptions options) =>
        options.IotHubHostName ?? (string.IsNullOrEmpty(options.IotHubRegistryConnectionString) ? null
            : IotHubConnectionString.Parse(options.IotHubRegistryConnectionString).HostName);

    [LoggerMessage(EventId = 4050, Level = LogLevel.Information, Message = "Edge deployment of {DeviceId} applied through IoT Hub (image {ModuleImage}, identity {Change})")]
    private static partial void Applied(ILogger logger, string deviceId, string moduleImage, EdgeDeviceChange change);

    [LoggerMessage(EventId = 4051, Level = LogLevel.Information, Message = "Edge deployment of {DeviceId} written to {Path}, not applied: no IoT Hub configured")]
    private static partial void ManifestWritten(ILogger logger, string deviceId, string path);

    [LoggerMessage(EventId = 4052, Level = LogLevel.Warning, Message = "IoT Hub refused the edge deployment of {DeviceId}: {Status} {ErrorCode}")]
    private static partial void HubRefused(ILogger logger, string deviceId, int status, string? errorCode);
}

/// <param name="Configuration">The gateway's configuration document (docs/edge-configuration.md).</param>
/// <param name="ModuleImage">Overrides <c>Pdm__EdgeDeployment__ModuleImage</c> (e.g. while a new version is rolled out).</param>
internal sealed record EdgeDeploymentBody(JsonElement? Configuration, string? ModuleImage);

/// <param name="Identity">created, made-edge or unchanged in IoT Hub; local-registry without one.</param>
/// <param name="PrimaryKey">The device key for the gateway's provisioning (<c>iotedge config mp</c>); null for X.509 devices.</param>
/// <param name="HostName">IoT Hub's host name (or the local MQTT endpoint) for the connection string.</param>
internal sealed record EdgeDeploymentResult(string DeviceId, string ModuleImage, bool Applied, string Identity, string? ManifestPath,
    string? PrimaryKey, string? HostName, string Note)
{
    public string? ConnectionString => PrimaryKey is null || HostName is null || ManifestPath is not null
        ? null
        : $"HostName={HostName};DeviceId={DeviceId};SharedAccessKey={PrimaryKey}";
}
