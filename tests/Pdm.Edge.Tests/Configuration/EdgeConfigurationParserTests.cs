using Pdm.Edge.Configuration;
using Pdm.Modbus;

namespace Pdm.Edge.Tests.Configuration;

public sealed class EdgeConfigurationParserTests
{
    [Fact]
    public void Full_document_parses_with_every_section_and_defaults_applied()
    {
        var result = EdgeConfigurationParser.Parse(ConfigurationSamples.Full);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var config = result.Configuration;
        Assert.Equal(1, config.SchemaVersion);
        Assert.Equal("plant-a-gw1", config.GatewayId);
        Assert.Equal(TimeSpan.FromMilliseconds(2000), config.Defaults.PollInterval);

        var press = config.Modbus[0];
        Assert.Equal(new ModbusTcpEndpoint("10.0.4.21", 1502), press.Endpoint);
        Assert.Equal(3, press.UnitId);
        Assert.Equal(TimeSpan.FromMilliseconds(500), press.PollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(300), press.ResponseTimeout);
        Assert.Equal(new ModbusPoint
        {
            Sensor = "temperature", Table = ModbusTable.HoldingRegisters, Address = 0, Type = ModbusDataType.Float32,
            WordOrder = WordOrder.LowFirst, ByteOrder = ByteOrder.LowFirst, Unit = "degF",
        }, press.Points[0]);
        Assert.Equal(ModbusDataType.Bool, press.Points[2].Type);
        Assert.Equal(ModbusTable.Coils, press.Points[2].Table);

        var pump = config.Modbus[1];
        Assert.Equal(new ModbusRtuEndpoint("/dev/ttyUSB0", 9600, 'N', 8, 2), pump.Endpoint);
        Assert.Equal(TimeSpan.FromMilliseconds(2000), pump.PollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(800), pump.ResponseTimeout);
        Assert.Equal(ModbusDataType.UInt16, pump.Points[0].Type);

        var mqtt = config.Mqtt[0];
        Assert.Equal("pdm-edge-gw1", mqtt.ClientId);
        Assert.True(mqtt.Broker.Tls);
        var subscription = mqtt.Subscriptions[0];
        Assert.Equal(0, subscription.Qos);
        Assert.Equal("line-{2}-{3}", subscription.MachineId.Text);
        Assert.Equal(["temperature", "vibration"], subscription.Sensors.Select(s => s.Sensor));
        Assert.Equal("degF", subscription.Sensors[0].Unit);
        Assert.Equal("degC", subscription.Sensors[0].CatalogUnit);

        var http = config.Http[0];
        Assert.Equal(TimeSpan.FromMilliseconds(2500), http.Timeout);
        Assert.Equal("change-me", http.Headers["x-api-key"]);
        Assert.Equal("kW", http.Sensors.Single(s => s.Sensor == "power").CatalogUnit);

        Assert.Equal("EG_PRESS_1", config.Opc.Mappings[0].MachineId);
        Assert.Equal("bar", config.Opc.Mappings[0].Fields[0].CatalogUnit);
        Assert.Equal(268435456, config.Queue.MaxBytes);
    }

    [Fact]
    public void Minimal_document_gets_default_sections()
    {
        var result = EdgeConfigurationParser.Parse(ConfigurationSamples.Minimal());

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var config = result.Configuration;
        Assert.Equal(EdgeDefaults.DefaultPollInterval, config.Modbus[0].PollInterval);
        Assert.Equal(new ModbusTcpEndpoint("127.0.0.1", 502), config.Modbus[0].Endpoint);
        Assert.Equal(1, config.Modbus[0].UnitId);
        Assert.Empty(config.Mqtt);
        Assert.Empty(config.Http);
        Assert.Empty(config.Opc.Mappings);
        Assert.Equal(QueueConfiguration.DefaultMaxBytes, config.Queue.MaxBytes);
    }

    public static TheoryData<string, string, string> BadDocuments => new()
    {
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0, "type": "flot32" }"""),
            "modbus[0].registers[0].type",
            "unknown type 'flot32', expected one of bool, int16, uint16, int32, uint32, float32, int64, uint64, float64"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", extra: "\"pollIntervall\": 500,"),
            "modbus[0].pollIntervall",
            "unknown property 'pollIntervall'; did you mean 'pollIntervalMs'?"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }, { "sensor": "temperature", "table": "input", "address": 0 }"""),
            "modbus[0].registers[1].sensor",
            "duplicate sensor 'temperature'; it is already mapped at modbus[0].registers[0].sensor"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 10, "type": "float32" }, { "sensor": "pressure", "table": "holding", "address": 11 }"""),
            "modbus[0].registers[1].address",
            "holding registers 11..11 of 'pressure' overlap 10..11 of 'temperature' (modbus[0].registers[0])"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", machineId: "press 7"),
            "modbus[0].machineId",
            "machine id 'press 7' has a character other than A-Z a-z 0-9 _ . : - at position 6"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0, "unit": "degX" }"""),
            "modbus[0].registers[0].unit",
            "unit 'degX' for temperature cannot be converted to degC"
        },
        {
            Device("""{ "sensor": "valve_position", "table": "holding", "address": 0, "unit": "%" }"""),
            "modbus[0].registers[0].unit",
            "'valve_position' is not in the sensor catalog"
        },
        {
            Device("""{ "sensor": "running", "table": "coil", "address": 0, "type": "float32" }"""),
            "modbus[0].registers[0].type",
            "coils hold single bits, so type must be 'bool', not 'float32'"
        },
        {
            Device("""{ "sensor": "running", "table": "holding", "address": 0, "type": "bool" }"""),
            "modbus[0].registers[0].type",
            "'bool' is for coils and discrete inputs"
        },
        {
            Device("""{ "sensor": "energy", "table": "holding", "address": 65534, "type": "float64" }"""),
            "modbus[0].registers[0].address",
            "a float64 at 65534 needs registers up to 65537, past the last address 65535"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"tcp\": { \"host\": \"plc\" }, \"rtu\": { \"serialPort\": \"/dev/ttyS0\" }"),
            "modbus[0]",
            "give either 'tcp' or 'rtu', not both"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"rtu\": { \"serialPort\": \"/dev/ttyS0\", \"parity\": \"mark\" }, \"unitId\": 0"),
            "modbus[0].rtu.parity",
            "unknown parity 'mark', expected one of none, even, odd"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"rtu\": { \"serialPort\": \"/dev/ttyS0\" }, \"unitId\": 0"),
            "modbus[0].unitId",
            "0 is outside 1..247"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": "0" }"""),
            "modbus[0].registers[0].address",
            "expected an integer 0..65535, got the string \"0\""
        },
        {
            Device("""{ "sensor": "Temperature", "table": "holding", "address": 0 }"""),
            "modbus[0].registers[0].sensor",
            "sensor name 'Temperature' is not lower snake case"
        },
        {
            Mqtt("plant/#/x", "{2}", "\"temperature\": \"$.t\""),
            "mqtt[0].subscriptions[0].topic",
            "'#' in topic filter 'plant/#/x' must be a whole level and the last one"
        },
        {
            Mqtt("plant/+/telemetry", "press-{4}", "\"temperature\": \"$.t\""),
            "mqtt[0].subscriptions[0].machineId",
            "'press-{4}' takes topic level 4, but topics matching 'plant/+/telemetry' are only sure to have 3"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": \"$.a[\""),
            "mqtt[0].subscriptions[0].sensors.temperature",
            "'[' at position 4 of '$.a[' is not closed"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": { \"path\": \"$.t\", \"unit\": \"psi\" }"),
            "mqtt[0].subscriptions[0].sensors.temperature.unit",
            "unit 'psi' for temperature cannot be converted to degC"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": \"$.t\", \"temperature\": \"$.u\""),
            "mqtt[0].subscriptions[0].sensors.temperature",
            "duplicate sensor; each sensor may be mapped once"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "http": [ { "name": "api", "url": "ftp://x/y", "machineId": "M1", "sensors": { "load": "$.l" } } ] }""",
            "http[0].url",
            "'ftp://x/y' is not an absolute http:// or https:// URL"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "http": [ { "name": "api", "url": "http://x/y", "machineId": "M1", "headers": { "Bad Header": "v" }, "sensors": { "load": "$.l" } } ] }""",
            "http[0].headers['Bad Header']",
            "'Bad Header' is not a valid HTTP header name"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "http": [ { "name": "api", "url": "http://x/y", "machineId": "M1", "sensors": { "load": "$.l" } }, { "name": "api", "url": "http://x/z", "machineId": "M2", "sensors": { "load": "$.l" } } ] }""",
            "http[1].name",
            "duplicate source name 'api'; it is already used at http[0].name"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "opc": { "mappings": [ { "machineId": "M1", "fields": [ { "field": "T", "sensor": "temperature" } ] } ] } }""",
            "opc.mappings[0]",
            "give at least one of dataSetWriter, dataSetName or endpointUrl"
        },
        {
            """{ "schemaVersion": 2, "gatewayId": "gw" }""",
            "schemaVersion",
            "schema version 2 is not supported; this module reads version 1"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "gatewayId": "gw2" }""",
            "gatewayId",
            "duplicate property; each property may appear once"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": null }""",
            "gatewayId",
            "required property is missing"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "queue": { "maxBytes": 1000 } }""",
            "queue.maxBytes",
            "1000 is outside 16777216..1099511627776"
        },
        {
            "{\n  \"schemaVersion\": 1,\n  \"gatewayId\": \"gw\"\n  \"modbus\": []\n}",
            "",
            "not valid JSON at line 4, byte 3"
        },
        {
            "  ",
            "",
            "the document is empty"
        },
    };

    // What the schema (docs/edge-configuration.schema.json) decides, in the parser's words.
    public static TheoryData<string, string, string> SchemaViolations => new()
    {
        {
            Mqtt("plant/+/telemetry", "{2}", "\"Temperature\": \"$.t\""),
            "mqtt[0].subscriptions[0].sensors.Temperature",
            "sensor name 'Temperature' is not lower snake case"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": 5"),
            "mqtt[0].subscriptions[0].sensors.temperature",
            "expected a path string like \"$.temp\" or an object { \"path\", \"unit\", \"scale\", \"offset\" }, got the number 5"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": { \"pth\": \"$.t\" }"),
            "mqtt[0].subscriptions[0].sensors.temperature.pth",
            "unknown property 'pth'; did you mean 'path'? (expected one of: path, unit, scale, offset)"
        },
        {
            Mqtt("plant/+/telemetry", "{2}", "\"temperature\": { \"unit\": \"degF\" }"),
            "mqtt[0].subscriptions[0].sensors.temperature.path",
            "required property is missing"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0, "scale": 0 }"""),
            "modbus[0].registers[0].scale",
            "must not be 0"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"unitId\": 1"),
            "modbus[0]",
            "missing 'tcp' ({ host, port }) or 'rtu' ({ serialPort, baudRate, ... }): say how the device is reached"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"tcp\": { \"host\": \"plc\", \"port\": 70000 }"),
            "modbus[0].tcp.port",
            "70000 is outside 1..65535"
        },
        {
            Device("""{ "sensor": "temperature", "table": "holding", "address": 0 }""", endpoint: "\"tcp\": { \"host\": \"plc\" }, \"pollIntervalMs\": 1.5"),
            "modbus[0].pollIntervalMs",
            "expected an integer 100..86400000, got the number 1.5"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "mqtt": [ { "name": "b", "broker": { "host": "h", "password": "p" }, "subscriptions": [ { "topic": "t", "machineId": "M", "sensors": { "load": "$.l" } } ] } ] }""",
            "mqtt[0].broker.password",
            "a password needs a username"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "mqtt": [ { "name": "b", "broker": { "host": "h" }, "subscriptions": [ { "topic": "t", "qos": 2, "machineId": "M", "sensors": { "load": "$.l" } } ] } ] }""",
            "mqtt[0].subscriptions[0].qos",
            "2 is outside 0..1"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "http": [ { "name": "api", "url": "http://x/y", "machineId": "M1", "headers": { "X-Key": "a\r\nb" }, "sensors": { "load": "$.l" } } ] }""",
            "http[0].headers['X-Key']",
            "a header value must not contain line breaks"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "http": [ { "name": "api", "url": "http://x/y", "machineId": "M1", "headers": { "X-Key": "a", "x-key": "b" }, "sensors": { "load": "$.l" } } ] }""",
            "http[0].headers['x-key']",
            "duplicate header (names are case-insensitive)"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "pdm-gw" }""",
            "gatewayId",
            "gateway id 'pdm-gw' is reserved"
        },
        {
            """{ "schemaVersion": 1, "gatewayId": "gw", "queue": [] }""",
            "queue",
            "expected an object, got an array"
        },
    };

    [Theory]
    [MemberData(nameof(SchemaViolations))]
    public void Schema_violation_is_reported_with_path_and_reason(string json, string path, string reason) =>
        Bad_document_is_rejected_with_path_and_reason(json, path, reason);

    [Fact]
    public void Null_counts_as_absent_everywhere()
    {
        var result = EdgeConfigurationParser.Parse("""
            { "schemaVersion": 1, "gatewayId": "gw", "queue": null, "defaults": { "pollIntervalMs": null },
              "modbus": [ { "name": "a", "machineId": "M1", "rtu": null, "tcp": { "host": "plc", "port": null },
                            "registers": [ { "sensor": "temperature", "table": "holding", "address": 0, "unit": null } ] } ] }
            """);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(new ModbusTcpEndpoint("plc", 502), result.Configuration.Modbus[0].Endpoint);
        Assert.Equal(QueueConfiguration.DefaultMaxBytes, result.Configuration.Queue.MaxBytes);
    }

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void Bad_document_is_rejected_with_path_and_reason(string json, string path, string reason)
    {
        var result = EdgeConfigurationParser.Parse(json);

        Assert.False(result.IsValid);
        Assert.Null(result.Configuration);
        Assert.Contains(result.Errors, e => e.Path == path && e.Reason.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        const string json = """
            {
              "schemaVersion": 1,
              "gatewayId": "gw",
              "modbus": [
                { "name": "a", "machineId": "M 1", "tcp": { "host": "plc", "prot": 502 },
                  "registers": [ { "sensor": "temperature", "table": "holding", "address": 0, "type": "flot32" } ] }
              ],
              "mqtt": [ { "name": "b", "broker": { "host": "broker" }, "subscriptions": [] } ]
            }
            """;

        var errors = EdgeConfigurationParser.Parse(json).Errors.Select(e => e.Path).ToList();

        Assert.Equal(["modbus[0].machineId", "modbus[0].tcp.prot", "modbus[0].registers[0].type", "mqtt[0].subscriptions"], errors);
    }

    [Fact]
    public void Error_text_joins_path_and_reason()
    {
        var error = EdgeConfigurationParser.Parse("""{ "schemaVersion": 1 }""").Errors.Single();

        Assert.Equal("gatewayId: required property is missing", error.ToString());
    }

    [Fact]
    public void Error_list_is_capped_and_counts_the_rest()
    {
        var registers = string.Join(", ", Enumerable.Range(0, 150).Select(i => $$"""{ "sensor": "s{{i}}", "table": "holding", "address": {{i}}, "type": "nope" }"""));

        var errors = EdgeConfigurationParser.Parse(Device(registers)).Errors;

        Assert.Equal(EdgeConfigurationParser.MaxErrors + 1, errors.Count);
        Assert.Equal("50 more errors not shown", errors[^1].Reason);
    }

    private static string Device(string registers, string machineId = "EG_PRESS_7", string endpoint = "\"tcp\": { \"host\": \"10.0.4.21\" }",
        string extra = "") => $$"""
        {
          "schemaVersion": 1,
          "gatewayId": "plant-a-gw1",
          "modbus": [ { {{extra}} "name": "press-7", "machineId": "{{machineId}}", {{endpoint}}, "registers": [ {{registers}} ] } ]
        }
        """;

    private static string Mqtt(string topic, string machineId, string sensors) => $$"""
        {
          "schemaVersion": 1,
          "gatewayId": "plant-a-gw1",
          "mqtt": [ { "name": "broker", "broker": { "host": "127.0.0.1" },
                      "subscriptions": [ { "topic": "{{topic}}", "machineId": "{{machineId}}", "sensors": { {{sensors}} } } ] } ]
        }
        """;
}
