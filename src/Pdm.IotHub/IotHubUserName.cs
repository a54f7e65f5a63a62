namespace Pdm.IotHub;

/// <summary>The MQTT user name IoT Hub (and edgeHub) expects in CONNECT.</summary>
public static class IotHubUserName
{
    public const string ApiVersion = "2021-04-12";

    /// <summary><c>{hub}/{deviceId}/?api-version=2021-04-12</c>; the client id is the device id.</summary>
    public static string ForDevice(string hubHostName, string deviceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(hubHostName);
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        return $"{hubHostName}/{deviceId}/?api-version={ApiVersion}";
    }

    /// <summary><c>{hub}/{deviceId}/{moduleId}/?api-version=2021-04-12</c>; the client id is <c>{deviceId}/{moduleId}</c>.</summary>
    public static string ForModule(string hubHostName, string deviceId, string moduleId)
    {
        ArgumentException.ThrowIfNullOrEmpty(hubHostName);
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentException.ThrowIfNullOrEmpty(moduleId);
        return $"{hubHostName}/{deviceId}/{moduleId}/?api-version={ApiVersion}";
    }
}
