using Pdm.Modbus;

namespace Pdm.Edge.Configuration;

/// <summary>
/// The edge module's whole configuration, as one JSON document (docs/edge-configuration.md). Built only by
/// <see cref="EdgeConfigurationParser"/>, so every value here is already validated and has its defaults applied.
/// </summary>
public sealed record EdgeConfiguration
{
    /// <summary>The only <c>schemaVersion</c> this module reads.</summary>
    public const int CurrentSchemaVersion = 1;

    public required int SchemaVersion { get; init; }

    /// <summary>Id of this gateway (the IoT Edge device id, or the device id in direct mode).</summary>
    public required string GatewayId { get; init; }

    public required EdgeDefaults Defaults { get; init; }

    public required IReadOnlyList<ModbusDeviceConfiguration> Modbus { get; init; }

    public required IReadOnlyList<MqttSourceConfiguration> Mqtt { get; init; }

    public required IReadOnlyList<HttpSourceConfiguration> Http { get; init; }

    public required OpcConfiguration Opc { get; init; }

    public required QueueConfiguration Queue { get; init; }
}

/// <summary>Values a source uses when it does not set its own.</summary>
public sealed record EdgeDefaults
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultHttpTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How often Modbus devices and HTTP endpoints are read.</summary>
    public required TimeSpan PollInterval { get; init; }

    /// <summary>How long a Modbus device may take to answer one request.</summary>
    public required TimeSpan ResponseTimeout { get; init; }

    /// <summary>How long one HTTP poll may take, response body included.</summary>
    public required TimeSpan HttpTimeout { get; init; }
}

/// <summary>One Modbus device (TCP or RTU) and the registers to read from it; values belong to one machine.</summary>
public sealed record ModbusDeviceConfiguration
{
    /// <summary>Source name, unique among all sources; status is reported under it.</summary>
    public required string Name { get; init; }

    public required string MachineId { get; init; }

    /// <summary>A <see cref="ModbusTcpEndpoint"/> or a <see cref="ModbusRtuEndpoint"/>.</summary>
    public required ModbusEndpoint Endpoint { get; init; }

    /// <summary>Modbus unit (slave) id: 0..255 over TCP, 1..247 over RTU.</summary>
    public required byte UnitId { get; init; }

    public required TimeSpan PollInterval { get; init; }

    public required TimeSpan ResponseTimeout { get; init; }

    /// <summary>The register map; addresses do not overlap within a table and each sensor appears once.</summary>
    public required IReadOnlyList<ModbusPoint> Points { get; init; }
}

/// <summary>A plant MQTT broker and the topics whose JSON payloads become readings.</summary>
public sealed record MqttSourceConfiguration
{
    public required string Name { get; init; }

    public required MqttBrokerConfiguration Broker { get; init; }

    public required string ClientId { get; init; }

    /// <summary>In document order; a message is mapped by the first subscription whose filter matches its topic.</summary>
    public required IReadOnlyList<MqttSubscription> Subscriptions { get; init; }
}

/// <summary>Where the plant broker is and how to log in.</summary>
public sealed record MqttBrokerConfiguration
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required bool Tls { get; init; }

    /// <summary>PEM file of CA certificates to trust (TLS only); null means the system trust store.</summary>
    public string? CaFile { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }
}

/// <summary>One topic filter and how its messages map to a machine's reading.</summary>
public sealed record MqttSubscription
{
    public required MqttTopicFilter Topic { get; init; }

    /// <summary>0 or 1.</summary>
    public required int Qos { get; init; }

    public required MachineIdTemplate MachineId { get; init; }

    /// <summary>Where the payload carries its timestamp; null means the time the message arrived.</summary>
    public JsonPathExpression? TimestampPath { get; init; }

    public required IReadOnlyList<SensorMapping> Sensors { get; init; }
}

/// <summary>A JSON endpoint polled over HTTP(S); its response maps to one machine's reading.</summary>
public sealed record HttpSourceConfiguration
{
    public required string Name { get; init; }

    public required Uri Url { get; init; }

    public required TimeSpan PollInterval { get; init; }

    public required TimeSpan Timeout { get; init; }

    /// <summary>Request headers sent with every poll (for example an API key).</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public required string MachineId { get; init; }

    public JsonPathExpression? TimestampPath { get; init; }

    public required IReadOnlyList<SensorMapping> Sensors { get; init; }
}

/// <summary>
/// Where one sensor's value is in a JSON payload and how to turn it into the catalog unit:
/// value = raw × <see cref="Scale"/> + <see cref="Offset"/>, then converted from <see cref="Unit"/> to <see cref="CatalogUnit"/>.
/// </summary>
public sealed record SensorMapping
{
    public required string Sensor { get; init; }

    public required JsonPathExpression Path { get; init; }

    /// <summary>Unit of the scaled value when it is not the catalog unit; checked convertible at load time.</summary>
    public string? Unit { get; init; }

    /// <summary>The sensor's unit in the catalog; null for custom sensors.</summary>
    public string? CatalogUnit { get; init; }

    public double Scale { get; init; } = 1;

    public double Offset { get; init; }
}

/// <summary>How OPC UA values that Microsoft's OPC Publisher routes into the module become readings.</summary>
public sealed record OpcConfiguration
{
    public static readonly OpcConfiguration Empty = new() { Mappings = [] };

    public required IReadOnlyList<OpcMapping> Mappings { get; init; }
}

/// <summary>
/// Messages from one dataset writer, dataset or OPC UA server (every selector given must match) belong to one machine;
/// their fields (dataset field names, or display names or node ids in OPC Publisher's samples mode) map to sensors.
/// </summary>
public sealed record OpcMapping
{
    public string? DataSetWriter { get; init; }

    public string? DataSetName { get; init; }

    public string? EndpointUrl { get; init; }

    public required string MachineId { get; init; }

    public required IReadOnlyList<OpcFieldMapping> Fields { get; init; }
}

/// <summary>One OPC UA field and the sensor it is reported as; value = raw × Scale + Offset, then unit conversion.</summary>
public sealed record OpcFieldMapping
{
    public required string Field { get; init; }

    public required string Sensor { get; init; }

    public string? Unit { get; init; }

    public string? CatalogUnit { get; init; }

    public double Scale { get; init; } = 1;

    public double Offset { get; init; }
}

/// <summary>Settings of the module's disk-backed store-and-forward queue.</summary>
public sealed record QueueConfiguration
{
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>Most disk space the queue may use.</summary>
    public required long MaxBytes { get; init; }
}
