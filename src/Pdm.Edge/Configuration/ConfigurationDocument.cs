using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pdm.Edge.Configuration;

// The configuration document as docs/edge-configuration.schema.json describes it, read by System.Text.Json only after
// the schema accepted it: types, ranges, names and required properties are the schema's business, not these types'.
// Enumerations stay strings here; EdgeConfigurationParser turns them into the Modbus library's types.

internal sealed record ConfigurationDocument
{
    [JsonPropertyName("$schema")]
    public string? Schema { get; init; }

    public int SchemaVersion { get; init; }

    public string GatewayId { get; init; } = "";

    public DefaultsDocument? Defaults { get; init; }

    public List<ModbusDeviceDocument>? Modbus { get; init; }

    public List<MqttSourceDocument>? Mqtt { get; init; }

    public List<HttpSourceDocument>? Http { get; init; }

    public OpcDocument? Opc { get; init; }

    public QueueDocument? Queue { get; init; }
}

internal sealed record DefaultsDocument
{
    public int? PollIntervalMs { get; init; }

    public int? ResponseTimeoutMs { get; init; }

    public int? HttpTimeoutMs { get; init; }
}

internal sealed record ModbusDeviceDocument
{
    public string Name { get; init; } = "";

    public string MachineId { get; init; } = "";

    public TcpDocument? Tcp { get; init; }

    public RtuDocument? Rtu { get; init; }

    public int? UnitId { get; init; }

    public int? PollIntervalMs { get; init; }

    public int? ResponseTimeoutMs { get; init; }

    public List<RegisterDocument> Registers { get; init; } = [];
}

internal sealed record TcpDocument
{
    public string Host { get; init; } = "";

    public int? Port { get; init; }
}

internal sealed record RtuDocument
{
    public string SerialPort { get; init; } = "";

    public int? BaudRate { get; init; }

    public string? Parity { get; init; }

    public int? DataBits { get; init; }

    public int? StopBits { get; init; }
}

internal sealed record RegisterDocument
{
    public string Sensor { get; init; } = "";

    public string Table { get; init; } = "";

    public int Address { get; init; }

    public string? Type { get; init; }

    public string? WordOrder { get; init; }

    public string? ByteOrder { get; init; }

    public double? Scale { get; init; }

    public double? Offset { get; init; }

    public string? Unit { get; init; }
}

internal sealed record MqttSourceDocument
{
    public string Name { get; init; } = "";

    public BrokerDocument Broker { get; init; } = new();

    public string? ClientId { get; init; }

    public List<SubscriptionDocument> Subscriptions { get; init; } = [];
}

internal sealed record BrokerDocument
{
    public string Host { get; init; } = "";

    public int? Port { get; init; }

    public bool? Tls { get; init; }

    public string? CaFile { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }
}

internal sealed record SubscriptionDocument
{
    public string Topic { get; init; } = "";

    public int? Qos { get; init; }

    public string MachineId { get; init; } = "";

    public string? TimestampPath { get; init; }

    /// <summary>Sensor name -> a path string or a <see cref="SensorMappingDocument"/>; an element keeps document order.</summary>
    public JsonElement Sensors { get; init; }
}

internal sealed record SensorMappingDocument
{
    public string Path { get; init; } = "";

    public string? Unit { get; init; }

    public double? Scale { get; init; }

    public double? Offset { get; init; }
}

internal sealed record HttpSourceDocument
{
    public string Name { get; init; } = "";

    public string Url { get; init; } = "";

    public int? PollIntervalMs { get; init; }

    public int? TimeoutMs { get; init; }

    public Dictionary<string, string>? Headers { get; init; }

    public string MachineId { get; init; } = "";

    public string? TimestampPath { get; init; }

    public JsonElement Sensors { get; init; }
}

internal sealed record OpcDocument
{
    public List<OpcMappingDocument>? Mappings { get; init; }
}

internal sealed record OpcMappingDocument
{
    public string? DataSetWriter { get; init; }

    public string? DataSetName { get; init; }

    public string? EndpointUrl { get; init; }

    public string MachineId { get; init; } = "";

    public List<OpcFieldDocument> Fields { get; init; } = [];
}

internal sealed record OpcFieldDocument
{
    public string Field { get; init; } = "";

    public string Sensor { get; init; } = "";

    public string? Unit { get; init; }

    public double? Scale { get; init; }

    public double? Offset { get; init; }
}

internal sealed record QueueDocument
{
    public long? MaxBytes { get; init; }
}

// Disallow: a property the schema allows but these types lack fails loudly (a test reads the full sample), never silently.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ConfigurationDocument))]
[JsonSerializable(typeof(SensorMappingDocument))]
internal sealed partial class ConfigurationDocumentContext : JsonSerializerContext;
