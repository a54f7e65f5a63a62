using Pdm.Mqtt;

namespace Pdm.IotHub;

/// <summary>MQTT session settings for a device or module that talks to IoT Hub (or its edge gateway) directly.</summary>
public static class IotHubMqtt
{
    public const int TlsPort = 8883;

    /// <summary>
    /// TLS on 8883 to the gateway when the connection string names one, else the hub; IoT Hub's client id and user
    /// name; a SAS token valid for <paramref name="tokenLifetime"/> minted before every connect.
    /// </summary>
    public static MqttOptions Options(IotHubConnectionString connection, TimeSpan tokenLifetime, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(tokenLifetime, TimeSpan.Zero);
        var deviceId = connection.DeviceId
            ?? throw new ArgumentException("A device or module connection string is needed, not a policy's.", nameof(connection));
        var resourceUri = connection.ResourceUri;
        var key = connection.SharedAccessKey;
        return new MqttOptions
        {
            Host = connection.GatewayHostName ?? connection.HostName,
            Port = TlsPort,
            UseTls = true,
            ClientId = connection.ModuleId is null ? deviceId : $"{deviceId}/{connection.ModuleId}",
            Username = connection.ModuleId is null
                ? IotHubUserName.ForDevice(connection.HostName, deviceId)
                : IotHubUserName.ForModule(connection.HostName, deviceId, connection.ModuleId),
            PasswordProvider = _ => ValueTask.FromResult(SasToken.Create(resourceUri, key, timeProvider.GetUtcNow() + tokenLifetime)),
        };
    }
}
