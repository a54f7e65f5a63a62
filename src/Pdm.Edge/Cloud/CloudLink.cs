using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.IotHub.IotEdge;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.Edge.Cloud;

/// <summary>
/// Where and how the module's MQTT session reaches the cloud, chosen from <see cref="CloudSettings"/> and the
/// environment: the session options, the topic telemetry is published to, and whether a twin answers on it.
/// IoT Hub's topic layout is used in every mode, so the local dev host sees exactly what IoT Hub would.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>IoT Edge</b>: TLS to <c>IOTEDGE_GATEWAYHOSTNAME:8883</c> trusting the workload API's trust bundle (written
/// under the data directory), module client id and user name, a module SAS token signed by the workload API and
/// renewed before expiry; telemetry on the module's events topic with output <c>telemetry</c> for edgeHub's routes.</item>
/// <item><b>Direct</b>: <see cref="IotHubMqtt.Options"/> from the connection string (TLS to the hub, SAS computed locally).</item>
/// <item><b>Local</b>: plain MQTT to Mosquitto as the device (user name = client id = device id, password = its key).
/// No twin: the local broker's ACL gives a device only <c>devices/{id}/#</c>, and nothing answers twin requests.</item>
/// </list>
/// Reconnects (with jittered backoff, and a fresh password each time) are the MQTT client's job.
/// </remarks>
public sealed partial class CloudLink : IDisposable
{
    /// <summary>The edgeHub output telemetry leaves by; deployment routes select it (<c>/messages/modules/{m}/outputs/telemetry</c>).</summary>
    public const string TelemetryOutput = "telemetry";

    private static readonly TimeSpan MinTokenLifetime = TimeSpan.FromMinutes(1);

    private readonly WorkloadClient? _workload;

    private CloudLink(CloudMode mode, MqttOptions mqttOptions, string telemetryTopic, bool twinAvailable, string deviceId,
        string? moduleId, WorkloadClient? workload)
    {
        Mode = mode;
        MqttOptions = mqttOptions;
        TelemetryTopic = telemetryTopic;
        TwinAvailable = twinAvailable;
        DeviceId = deviceId;
        ModuleId = moduleId;
        _workload = workload;
    }

    /// <summary>The mode in use; never <see cref="CloudMode.Auto"/>.</summary>
    public CloudMode Mode { get; }
    public MqttOptions MqttOptions { get; }

    /// <summary>The device-to-cloud topic with its property bag (JSON content type and encoding, and the output name on IoT Edge).</summary>
    public string TelemetryTopic { get; }

    /// <summary>True when the session can use the <c>$iothub/twin/</c> topics (IoT Edge and direct modes).</summary>
    public bool TwinAvailable { get; }
    public string DeviceId { get; }
    public string? ModuleId { get; }

    /// <summary>
    /// Resolves <see cref="CloudMode.Auto"/> and checks that the chosen mode has everything it needs, without any I/O;
    /// on failure <paramref name="error"/> names the missing or wrong setting or variable.
    /// </summary>
    public static bool TryResolveMode(CloudSettings settings, Func<string, string?> environment, out CloudMode mode,
        [NotNullWhen(false)] out string? error)
    {
        var resolved = TryPlan(settings, environment, out var plan, out error);
        mode = plan?.Mode ?? CloudMode.Auto;
        return resolved;
    }

    /// <summary>
    /// Resolves the mode and builds the session options. In IoT Edge mode this fetches the trust bundle from the
    /// workload API and writes it under <paramref name="dataDirectory"/>. Throws <see cref="InvalidOperationException"/>
    /// with the precise problem when the settings are incomplete: the module should not start without its cloud.
    /// </summary>
    public static async Task<CloudLink> CreateAsync(CloudSettings settings, Func<string, string?> environment, string dataDirectory,
        TimeProvider timeProvider, ILoggerFactory? loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        loggerFactory ??= NullLoggerFactory.Instance;
        if (!TryPlan(settings, environment, out var plan, out var error))
        {
            throw new InvalidOperationException(error);
        }

        var link = plan.Mode switch
        {
            CloudMode.IotEdge => await ForIotEdgeAsync(plan.Edge!, settings.TokenLifetime, dataDirectory, timeProvider, loggerFactory, cancellationToken),
            CloudMode.Direct => ForDirect(plan.Connection!, settings.TokenLifetime, timeProvider),
            _ => ForLocal(settings),
        };
        loggerFactory.CreateLogger<CloudLink>().CloudLinkChosen(link.Mode, link.MqttOptions.Host, link.MqttOptions.Port,
            link.MqttOptions.ClientId, link.TwinAvailable);
        return link;
    }

    public void Dispose() => _workload?.Dispose();

    private static async Task<CloudLink> ForIotEdgeAsync(IotEdgeEnvironment edge, TimeSpan tokenLifetime, string dataDirectory,
        TimeProvider timeProvider, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var workload = new WorkloadClient(edge.WorkloadUri, loggerFactory.CreateLogger<WorkloadClient>());
        try
        {
            var caFile = await EdgeTrustBundle.WriteAsync(workload, dataDirectory, loggerFactory.CreateLogger<CloudLink>(), cancellationToken);
            var tokens = new ModuleSasTokenProvider(workload, edge, tokenLifetime, timeProvider, loggerFactory.CreateLogger<ModuleSasTokenProvider>());
            var options = new MqttOptions
            {
                Host = edge.GatewayHostName,
                Port = IotHubMqtt.TlsPort,
                UseTls = true,
                CaFile = caFile,
                ClientId = $"{edge.DeviceId}/{edge.ModuleId}",
                // edgeHub reads identity and api-version from the user name; the host segment is not checked.
                Username = IotHubUserName.ForModule(edge.IotHubHostName, edge.DeviceId, edge.ModuleId),
                PasswordProvider = tokens.GetTokenAsync,
            };
            var topic = IotHubTopics.ModuleEvents(edge.DeviceId, edge.ModuleId, JsonTelemetryProperties(TelemetryOutput));
            return new CloudLink(CloudMode.IotEdge, options, topic, twinAvailable: true, edge.DeviceId, edge.ModuleId, workload);
        }
        catch
        {
            workload.Dispose();
            throw;
        }
    }

    private static CloudLink ForDirect(IotHubConnectionString connection, TimeSpan tokenLifetime, TimeProvider timeProvider)
    {
        var deviceId = connection.DeviceId!;
        var topic = connection.ModuleId is null
            ? IotHubTopics.DeviceEvents(deviceId, JsonTelemetryProperties(null))
            : IotHubTopics.ModuleEvents(deviceId, connection.ModuleId, JsonTelemetryProperties(null));
        return new CloudLink(CloudMode.Direct, IotHubMqtt.Options(connection, tokenLifetime, timeProvider), topic,
            twinAvailable: true, deviceId, connection.ModuleId, workload: null);
    }

    private static CloudLink ForLocal(CloudSettings settings)
    {
        var deviceId = settings.LocalDeviceId!;
        var options = new MqttOptions
        {
            Host = settings.LocalHost,
            Port = settings.LocalPort,
            ClientId = deviceId,
            Username = deviceId,
            Password = settings.LocalPassword,
        };
        return new CloudLink(CloudMode.Local, options, IotHubTopics.DeviceEvents(deviceId, JsonTelemetryProperties(null)),
            twinAvailable: false, deviceId, moduleId: null, workload: null);
    }

    /// <summary>JSON content type and encoding, so IoT Hub routing queries and storage endpoints can read the body.</summary>
    private static Dictionary<string, string> JsonTelemetryProperties(string? outputName)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [IotHubSystemProperties.ContentType] = "application/json",
            [IotHubSystemProperties.ContentEncoding] = "utf-8",
        };
        if (outputName is not null)
        {
            properties[IotHubSystemProperties.OutputName] = outputName;
        }
        return properties;
    }

    private static bool TryPlan(CloudSettings settings, Func<string, string?> environment, [NotNullWhen(true)] out Plan? plan,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(environment);
        plan = null;
        var mode = settings.Mode;
        if (mode == CloudMode.Auto)
        {
            if (IotEdgeEnvironment.IsPresent(environment))
            {
                mode = CloudMode.IotEdge;
            }
            else if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
            {
                mode = CloudMode.Direct;
            }
            else if (!string.IsNullOrWhiteSpace(settings.LocalDeviceId))
            {
                mode = CloudMode.Local;
            }
            else
            {
                error = "No cloud connection is configured: run under IoT Edge (IOTEDGE_* variables), or set Cloud__ConnectionString "
                    + "(direct to IoT Hub), or Cloud__LocalDeviceId and Cloud__LocalPassword (local Mosquitto); Cloud__Mode picks one explicitly.";
                return false;
            }
        }

        switch (mode)
        {
            case CloudMode.IotEdge:
                if (!CheckTokenLifetime(settings, out error))
                {
                    return false;
                }
                if (!IotEdgeEnvironment.TryParse(environment, out var edge, out var edgeError))
                {
                    error = $"Cloud mode IotEdge: {edgeError}";
                    return false;
                }
                plan = new Plan(mode, edge, null);
                return true;

            case CloudMode.Direct:
                if (!CheckTokenLifetime(settings, out error))
                {
                    return false;
                }
                if (string.IsNullOrWhiteSpace(settings.ConnectionString))
                {
                    error = "Cloud mode Direct needs Cloud__ConnectionString (the device's IoT Hub connection string).";
                    return false;
                }
                if (!IotHubConnectionString.TryParse(settings.ConnectionString, out var connection, out var connectionError))
                {
                    error = $"Cloud__ConnectionString: {connectionError}";
                    return false;
                }
                if (connection.DeviceId is null)
                {
                    error = "Cloud__ConnectionString is a shared access policy's; direct mode needs a device's (with DeviceId).";
                    return false;
                }
                plan = new Plan(mode, null, connection);
                return true;

            case CloudMode.Local:
                if (string.IsNullOrWhiteSpace(settings.LocalHost))
                {
                    error = "Cloud mode Local needs Cloud__LocalHost (the Mosquitto host).";
                    return false;
                }
                if (settings.LocalPort is < 1 or > 65535)
                {
                    error = $"Cloud__LocalPort {settings.LocalPort} is outside 1..65535.";
                    return false;
                }
                if (string.IsNullOrWhiteSpace(settings.LocalDeviceId))
                {
                    error = "Cloud mode Local needs Cloud__LocalDeviceId (the device registered with the local stack).";
                    return false;
                }
                if (!DeviceIds.IsValid(settings.LocalDeviceId, out var reason))
                {
                    error = $"Cloud__LocalDeviceId: {reason}";
                    return false;
                }
                if (string.IsNullOrEmpty(settings.LocalPassword))
                {
                    error = $"Cloud mode Local needs Cloud__LocalPassword (the key the local device registry issued for '{settings.LocalDeviceId}').";
                    return false;
                }
                plan = new Plan(mode, null, null);
                error = null;
                return true;

            default:
                error = $"Cloud__Mode '{settings.Mode}' is not one of Auto, IotEdge, Direct, Local.";
                return false;
        }
    }

    private static bool CheckTokenLifetime(CloudSettings settings, [NotNullWhen(false)] out string? error)
    {
        error = settings.TokenLifetime >= MinTokenLifetime
            ? null
            : $"Cloud__TokenLifetime {settings.TokenLifetime} is shorter than {MinTokenLifetime}.";
        return error is null;
    }

    private sealed record Plan(CloudMode Mode, IotEdgeEnvironment? Edge, IotHubConnectionString? Connection);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5200, Level = LogLevel.Information,
        Message = "Cloud link in {Mode} mode: {Host}:{Port} as {ClientId}, twin {TwinAvailable}")]
    public static partial void CloudLinkChosen(this ILogger logger, CloudMode mode, string host, int port, string clientId, bool twinAvailable);
}
