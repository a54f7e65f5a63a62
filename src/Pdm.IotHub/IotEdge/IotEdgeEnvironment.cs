using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Pdm.IotHub.IotEdge;

/// <summary>
/// What the IoT Edge runtime (edgeAgent) tells a custom module about itself through environment variables: its
/// identity, the hub, the gateway (edgeHub) to connect to, and where the workload API listens.
/// </summary>
public sealed record IotEdgeEnvironment
{
    public const string WorkloadUriVariable = "IOTEDGE_WORKLOADURI";
    public const string IotHubHostNameVariable = "IOTEDGE_IOTHUBHOSTNAME";
    public const string GatewayHostNameVariable = "IOTEDGE_GATEWAYHOSTNAME";
    public const string DeviceIdVariable = "IOTEDGE_DEVICEID";
    public const string ModuleIdVariable = "IOTEDGE_MODULEID";
    public const string ModuleGenerationIdVariable = "IOTEDGE_MODULEGENERATIONID";
    public const string ApiVersionVariable = "IOTEDGE_APIVERSION";
    public const string AuthSchemeVariable = "IOTEDGE_AUTHSCHEME";

    /// <summary>The only scheme edgeAgent sets for custom modules; anything else we cannot sign for.</summary>
    public const string SasTokenAuthScheme = "sasToken";

    private static readonly string[] RequiredVariables =
    [
        WorkloadUriVariable, IotHubHostNameVariable, GatewayHostNameVariable,
        DeviceIdVariable, ModuleIdVariable, ModuleGenerationIdVariable,
    ];

    /// <summary><c>unix:///var/run/iotedge/workload.sock</c> normally; <c>http://host:port</c> is accepted too.</summary>
    public required Uri WorkloadUri { get; init; }
    public required string IotHubHostName { get; init; }

    /// <summary>edgeHub's host name on the module network.</summary>
    public required string GatewayHostName { get; init; }
    public required string DeviceId { get; init; }
    public required string ModuleId { get; init; }
    public required string ModuleGenerationId { get; init; }

    /// <summary>The workload API version edgeAgent uses; informational (see <see cref="WorkloadClient.ApiVersion"/>).</summary>
    public string? ApiVersion { get; init; }
    public string AuthScheme { get; init; } = SasTokenAuthScheme;

    /// <summary>True when the process looks like it runs under the IoT Edge runtime (the workload URI or module id is set).</summary>
    public static bool IsPresent(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        return !string.IsNullOrWhiteSpace(getVariable(WorkloadUriVariable)) || !string.IsNullOrWhiteSpace(getVariable(ModuleIdVariable));
    }

    /// <summary>Reads the process environment.</summary>
    public static Func<string, string?> ProcessVariables() => Environment.GetEnvironmentVariable;

    /// <summary>Reads from a dictionary, e.g. <see cref="Environment.GetEnvironmentVariables()"/> or a test's values.</summary>
    public static Func<string, string?> From(IDictionary variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return name => variables.Contains(name) ? variables[name]?.ToString() : null;
    }

    public static IotEdgeEnvironment Parse(Func<string, string?> getVariable) =>
        TryParse(getVariable, out var parsed, out var error) ? parsed : throw new InvalidOperationException(error);

    /// <summary>Parses, or names every missing variable (or the one whose value is wrong, and why).</summary>
    public static bool TryParse(Func<string, string?> getVariable, [NotNullWhen(true)] out IotEdgeEnvironment? parsed,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        parsed = null;
        var values = RequiredVariables.ToDictionary(name => name, name => getVariable(name)?.Trim(), StringComparer.Ordinal);
        var missing = values.Where(v => string.IsNullOrEmpty(v.Value)).Select(v => v.Key).ToList();
        if (missing.Count > 0)
        {
            error = $"IoT Edge environment incomplete: {string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set "
                + "(edgeAgent sets them for every module; outside IoT Edge use direct or local mode).";
            return false;
        }

        var workloadText = values[WorkloadUriVariable]!;
        if (!Uri.TryCreate(workloadText, UriKind.Absolute, out var workloadUri)
            || workloadUri.Scheme is not ("unix" or "http")
            || (workloadUri.Scheme == "unix" && workloadUri.AbsolutePath.Length <= 1))
        {
            error = $"{WorkloadUriVariable} '{workloadText}' is not a workload URI: expected unix:///path/to/workload.sock or http://host:port.";
            return false;
        }

        var authScheme = getVariable(AuthSchemeVariable)?.Trim();
        if (!string.IsNullOrEmpty(authScheme) && !string.Equals(authScheme, SasTokenAuthScheme, StringComparison.OrdinalIgnoreCase))
        {
            error = $"{AuthSchemeVariable} is '{authScheme}'; only '{SasTokenAuthScheme}' (tokens signed by the workload API) is supported.";
            return false;
        }

        var apiVersion = getVariable(ApiVersionVariable)?.Trim();
        parsed = new IotEdgeEnvironment
        {
            WorkloadUri = workloadUri,
            IotHubHostName = values[IotHubHostNameVariable]!,
            GatewayHostName = values[GatewayHostNameVariable]!,
            DeviceId = values[DeviceIdVariable]!,
            ModuleId = values[ModuleIdVariable]!,
            ModuleGenerationId = values[ModuleGenerationIdVariable]!,
            ApiVersion = string.IsNullOrEmpty(apiVersion) ? null : apiVersion,
            AuthScheme = SasTokenAuthScheme,
        };
        error = null;
        return true;
    }
}
