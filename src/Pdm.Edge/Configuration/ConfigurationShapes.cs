namespace Pdm.Edge.Configuration;

/// <summary>How a nested object sits under its property.</summary>
internal enum Nesting
{
    Object,
    /// <summary>An array of such objects.</summary>
    Array,
    /// <summary>An object whose values (under any key) are such objects.</summary>
    Map,
}

/// <summary>The properties one kind of object may have; the parser rejects any other, so typos are caught.</summary>
internal sealed class ObjectShape(params string[] properties)
{
    public IReadOnlyList<string> Properties { get; } = properties;

    public Dictionary<string, (Nesting Nesting, ObjectShape Shape)> Children { get; } = new(StringComparer.Ordinal);

    public ObjectShape With(string property, Nesting nesting, ObjectShape shape)
    {
        Children[property] = (nesting, shape);
        return this;
    }
}

/// <summary>
/// Every object of the configuration document. One list for the parser and for the test that checks
/// docs/edge-configuration.schema.json names exactly the same properties.
/// </summary>
internal static class ConfigurationShapes
{
    public static readonly ObjectShape Defaults = new("pollIntervalMs", "responseTimeoutMs", "httpTimeoutMs");

    public static readonly ObjectShape Tcp = new("host", "port");

    public static readonly ObjectShape Rtu = new("serialPort", "baudRate", "parity", "dataBits", "stopBits");

    public static readonly ObjectShape Register =
        new("sensor", "table", "address", "type", "wordOrder", "byteOrder", "scale", "offset", "unit");

    public static readonly ObjectShape ModbusDevice =
        new ObjectShape("name", "machineId", "tcp", "rtu", "unitId", "pollIntervalMs", "responseTimeoutMs", "registers")
            .With("tcp", Nesting.Object, Tcp)
            .With("rtu", Nesting.Object, Rtu)
            .With("registers", Nesting.Array, Register);

    /// <summary>The object form of a sensor mapping (the short form is just the path string).</summary>
    public static readonly ObjectShape Sensor = new("path", "unit", "scale", "offset");

    public static readonly ObjectShape Broker = new("host", "port", "tls", "caFile", "username", "password");

    public static readonly ObjectShape Subscription =
        new ObjectShape("topic", "qos", "machineId", "timestampPath", "sensors")
            .With("sensors", Nesting.Map, Sensor);

    public static readonly ObjectShape MqttSource =
        new ObjectShape("name", "broker", "clientId", "subscriptions")
            .With("broker", Nesting.Object, Broker)
            .With("subscriptions", Nesting.Array, Subscription);

    public static readonly ObjectShape HttpSource =
        new ObjectShape("name", "url", "pollIntervalMs", "timeoutMs", "headers", "machineId", "timestampPath", "sensors")
            .With("sensors", Nesting.Map, Sensor);

    public static readonly ObjectShape OpcField = new("field", "sensor", "unit", "scale", "offset");

    public static readonly ObjectShape OpcMapping =
        new ObjectShape("dataSetWriter", "dataSetName", "endpointUrl", "machineId", "fields")
            .With("fields", Nesting.Array, OpcField);

    public static readonly ObjectShape Opc = new ObjectShape("mappings").With("mappings", Nesting.Array, OpcMapping);

    public static readonly ObjectShape Queue = new("maxBytes");

    public static readonly ObjectShape Root =
        new ObjectShape("$schema", "schemaVersion", "gatewayId", "defaults", "modbus", "mqtt", "http", "opc", "queue")
            .With("defaults", Nesting.Object, Defaults)
            .With("modbus", Nesting.Array, ModbusDevice)
            .With("mqtt", Nesting.Array, MqttSource)
            .With("http", Nesting.Array, HttpSource)
            .With("opc", Nesting.Object, Opc)
            .With("queue", Nesting.Object, Queue);

    /// <summary>Every property path the parser knows: <c>modbus[].registers[].type</c>, <c>http[].sensors.*.path</c>, ...</summary>
    public static IReadOnlyList<string> KnownPaths()
    {
        var paths = new List<string>();
        Walk(Root, "", paths);
        return paths;
    }

    private static void Walk(ObjectShape shape, string prefix, List<string> paths)
    {
        foreach (var property in shape.Properties)
        {
            var path = prefix.Length == 0 ? property : $"{prefix}.{property}";
            paths.Add(path);
            if (shape.Children.TryGetValue(property, out var child))
            {
                var childPrefix = child.Nesting switch
                {
                    Nesting.Array => path + "[]",
                    Nesting.Map => path + ".*",
                    _ => path,
                };
                Walk(child.Shape, childPrefix, paths);
            }
        }
    }
}
