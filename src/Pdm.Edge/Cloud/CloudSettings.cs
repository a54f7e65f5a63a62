namespace Pdm.Edge.Cloud;

/// <summary>How the module reaches the cloud.</summary>
public enum CloudMode
{
    /// <summary>IoT Edge when the runtime's IOTEDGE_* variables are set, else direct with a connection string, else local.</summary>
    Auto,

    /// <summary>As an IoT Edge module through edgeHub, with tokens signed by the workload API.</summary>
    IotEdge,

    /// <summary>As a device (or module) straight to IoT Hub, with a SAS token computed from its connection string.</summary>
    Direct,

    /// <summary>To the local Mosquitto with the device's credentials from the local device registry.</summary>
    Local,
}

/// <summary>
/// Cloud connection settings, bound from the <c>Cloud</c> section (environment variables <c>Cloud__Mode</c>,
/// <c>Cloud__ConnectionString</c>, ...). The connection string and local password are secrets: set them in the
/// environment, not in appsettings.
/// </summary>
public sealed record CloudSettings
{
    public const string Section = "Cloud";

    public CloudMode Mode { get; init; } = CloudMode.Auto;

    /// <summary>Direct mode: <c>HostName=..;DeviceId=..;SharedAccessKey=..</c> (a module's, with <c>ModuleId</c>, works too).</summary>
    public string? ConnectionString { get; init; }

    public string LocalHost { get; init; } = "127.0.0.1";
    public int LocalPort { get; init; } = 1883;

    /// <summary>Local mode: the device id registered with the local stack (its Mosquitto user name and client id).</summary>
    public string? LocalDeviceId { get; init; }

    /// <summary>Local mode: the device's key as the local device registry issued it (its Mosquitto password).</summary>
    public string? LocalPassword { get; init; }

    /// <summary>Lifetime of each SAS token (IoT Edge and direct modes).</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The record's default ToString would print the secrets.</summary>
    public override string ToString() =>
        $"Mode={Mode}, ConnectionString={(ConnectionString is null ? "(none)" : "***")}, Local={LocalHost}:{LocalPort} as {LocalDeviceId ?? "(none)"}, "
        + $"LocalPassword={(LocalPassword is null ? "(none)" : "***")}, TokenLifetime={TokenLifetime}";
}
