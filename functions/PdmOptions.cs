using System.ComponentModel.DataAnnotations;

namespace Pdm.Functions;

/// <summary>App settings of the function app (environment variables <c>Pdm__Database</c> and so on).</summary>
public sealed class PdmOptions
{
    public const string Section = "Pdm";

    /// <summary>Npgsql connection string of the application role (not the table owner: row-level security applies).</summary>
    [Required] public string Database { get; set; } = "";

    /// <summary>Blob container for batches the database could not take.</summary>
    [Required] public string DeadLetterContainer { get; set; } = "ingest-deadletter";

    /// <summary>"mosquitto" locally (password and ACL files of the local broker) or "iothub" in Azure.</summary>
    [Required, RegularExpression("mosquitto|iothub")] public string DeviceRegistry { get; set; } = "mosquitto";

    public string? MosquittoPasswordFile { get; set; }
    public string? MosquittoAclFile { get; set; }
    public string? MosquittoPidFile { get; set; }

    /// <summary>IoT Hub host name, for example <c>contoso.azure-devices.net</c>; the registry is called with the app's identity.</summary>
    public string? IotHubHostName { get; set; }

    /// <summary>Alternative to identity: a registryReadWrite policy connection string (keep it in Key Vault).</summary>
    public string? IotHubRegistryConnectionString { get; set; }
    /// <summary>Device endpoint advertised to gateways when a device is registered (host:port).</summary>
    public string? MqttEndpoint { get; set; }
}
