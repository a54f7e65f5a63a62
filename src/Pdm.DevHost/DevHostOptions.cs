using Pdm.Mqtt;

namespace Pdm.DevHost;

/// <summary>What the dev host runs and where its events come from.</summary>
public sealed record DevHostOptions
{
    /// <summary>The dev host's MQTT client id unless told otherwise; in the platform's namespace, which no device may use.</summary>
    public const string DefaultMqttClientId = "pdm-devhost";

    /// <summary>Folder with host.json, one folder per function and the handler (a build or publish output of functions/).</summary>
    public required string FunctionAppDirectory { get; init; }

    /// <summary>Command that starts the handler; null means host.json's defaultExecutablePath, else &lt;dir&gt;/handler.</summary>
    public string? HandlerCommand { get; init; }

    /// <summary>Arguments for <see cref="HandlerCommand"/>; null means host.json's customHandler.description.arguments.</summary>
    public IReadOnlyList<string>? HandlerArguments { get; init; }

    /// <summary>
    /// App settings: passed to the handler as environment variables and used for %NAME% expansion in
    /// host.json and function.json. A name not found here falls back to this process's environment, as app
    /// settings are plain environment variables in Azure.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Broker the IoT Hub device side runs on (the service user's session on the broker's platform listener), or null
    /// for no event source. Its client id must start with <c>pdm-</c>, so no device can take the session over.
    /// </summary>
    public MqttOptions? Mqtt { get; init; }

    /// <summary>Creates the MQTT session for <see cref="Mqtt"/>; null means <see cref="MqttNetClient"/>. Tests inject a fake here.</summary>
    public Func<MqttOptions, IMqttClient>? MqttClientFactory { get; init; }

    /// <summary>Port of the HTTP front end on 127.0.0.1; 0 picks a free one (read it from <see cref="FunctionsDevHost.BaseAddress"/>).</summary>
    public int HttpPort { get; init; }

    /// <summary>Partitions of the simulated built-in endpoint; a device's events always land in the same one.</summary>
    public int PartitionCount { get; init; } = 4;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
