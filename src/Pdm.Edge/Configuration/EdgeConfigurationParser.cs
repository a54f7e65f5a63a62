using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Pdm.Messaging.IotHub;
using Pdm.Modbus;
using Pdm.Telemetry;

namespace Pdm.Edge.Configuration;

/// <summary>
/// One problem with a configuration document: <see cref="Path"/> is the JSON path of the offending value
/// (<c>modbus[2].registers[5].type</c>, empty for the document as a whole), <see cref="Reason"/> says what is wrong.
/// </summary>
public sealed record ConfigurationError(string Path, string Reason)
{
    public override string ToString() => Path.Length == 0 ? Reason : $"{Path}: {Reason}";
}

/// <summary>A parsed configuration, or every problem found in the document.</summary>
public sealed class EdgeConfigurationParseResult
{
    internal EdgeConfigurationParseResult(EdgeConfiguration? configuration, IReadOnlyList<ConfigurationError> errors)
    {
        Configuration = configuration;
        Errors = errors;
    }

    /// <summary>The configuration; null when the document had errors.</summary>
    public EdgeConfiguration? Configuration { get; }

    public IReadOnlyList<ConfigurationError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Configuration))]
    public bool IsValid => Configuration is not null;
}

/// <summary>
/// Reads the edge configuration document (docs/edge-configuration.md, docs/edge-configuration.schema.json). Collects
/// every problem instead of stopping at the first, rejects unknown properties, and compiles path expressions, topic
/// filters and machine id templates once, so a source never meets an invalid one at run time.
/// </summary>
public static class EdgeConfigurationParser
{
    /// <summary>Errors reported per document; the rest are counted in one last error.</summary>
    public const int MaxErrors = 100;

    public const long MinQueueBytes = 16L << 20;
    public const long MaxQueueBytes = 1L << 40;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static EdgeConfigurationParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (string.IsNullOrWhiteSpace(json))
        {
            return new EdgeConfigurationParseResult(null, [new ConfigurationError("", "the document is empty")]);
        }
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            return new EdgeConfigurationParseResult(null, [new ConfigurationError("", InvalidJson(ex))]);
        }
    }

    /// <summary>Parses an element already read (the <c>config</c> desired property of the module twin).</summary>
    public static EdgeConfigurationParseResult Parse(JsonElement document) => new Run().Root(document);

    private static string InvalidJson(JsonException ex)
    {
        // The reader's message ends with its own zero-based position; say it once, one-based, like an editor does.
        var message = ex.Message;
        foreach (var tail in (string[])[" Path:", " LineNumber:"])
        {
            var cut = message.IndexOf(tail, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return ex.LineNumber is { } line && ex.BytePositionInLine is { } column
            ? $"not valid JSON at line {line + 1}, byte {column + 1}: {message.Trim()}"
            : $"not valid JSON: {message.Trim()}";
    }

    /// <summary>One parse: the errors found so far and the source names already taken.</summary>
    private sealed class Run
    {
        private static readonly (string Name, ModbusTable Value)[] Tables =
        [
            ("holding", ModbusTable.HoldingRegisters), ("input", ModbusTable.InputRegisters),
            ("coil", ModbusTable.Coils), ("discrete", ModbusTable.DiscreteInputs),
        ];

        private static readonly (string Name, ModbusDataType Value)[] Types =
        [
            ("bool", ModbusDataType.Bool), ("int16", ModbusDataType.Int16), ("uint16", ModbusDataType.UInt16),
            ("int32", ModbusDataType.Int32), ("uint32", ModbusDataType.UInt32), ("float32", ModbusDataType.Float32),
            ("int64", ModbusDataType.Int64), ("uint64", ModbusDataType.UInt64), ("float64", ModbusDataType.Float64),
        ];

        private static readonly (string Name, WordOrder Value)[] WordOrders = [("highFirst", WordOrder.HighFirst), ("lowFirst", WordOrder.LowFirst)];

        private static readonly (string Name, ByteOrder Value)[] ByteOrders = [("highFirst", ByteOrder.HighFirst), ("lowFirst", ByteOrder.LowFirst)];

        private static readonly (string Name, char Value)[] Parities = [("none", 'N'), ("even", 'E'), ("odd", 'O')];

        private readonly List<ConfigurationError> _errors = [];
        private readonly Dictionary<string, string> _sourceNames = new(StringComparer.Ordinal);
        private int _dropped;

        /// <summary>Errors found so far, including those past the cap; a part is valid only if this did not grow.</summary>
        private int ErrorCount => _errors.Count + _dropped;

        public EdgeConfigurationParseResult Root(JsonElement root)
        {
            if (!CheckObject(root, "", ConfigurationShapes.Root))
            {
                return Result(null);
            }

            var schemaVersion = Integer(root, "", "schemaVersion", 1, int.MaxValue, required: true);
            if (schemaVersion is { } version && version != EdgeConfiguration.CurrentSchemaVersion)
            {
                Error("schemaVersion", $"schema version {version} is not supported; this module reads version {EdgeConfiguration.CurrentSchemaVersion}");
            }
            var gatewayId = String(root, "", "gatewayId", required: true);
            if (gatewayId is not null && !DeviceIds.IsValid(gatewayId, out var gatewayProblem))
            {
                Error("gatewayId", gatewayProblem.Replace("device id", "gateway id", StringComparison.Ordinal));
            }
            var defaults = Defaults(root);
            var modbus = Array(root, "", "modbus", required: false, (e, p) => ModbusDevice(e, p, defaults));
            var mqtt = Array(root, "", "mqtt", required: false, (e, p) => MqttSource(e, p, gatewayId ?? "edge"));
            var http = Array(root, "", "http", required: false, (e, p) => HttpSource(e, p, defaults));
            var opc = Opc(root);
            var queue = Queue(root);
            if (ErrorCount > 0)
            {
                return Result(null);
            }

            return Result(new EdgeConfiguration
            {
                SchemaVersion = (int)schemaVersion!.Value,
                GatewayId = gatewayId!,
                Defaults = defaults,
                Modbus = modbus.Values(),
                Mqtt = mqtt.Values(),
                Http = http.Values(),
                Opc = opc!,
                Queue = queue!,
            });
        }

        private EdgeConfigurationParseResult Result(EdgeConfiguration? configuration)
        {
            if (_dropped > 0)
            {
                _errors.Add(new ConfigurationError("", $"{_dropped} more errors not shown"));
            }
            return new EdgeConfigurationParseResult(configuration, _errors);
        }

        private EdgeDefaults Defaults(JsonElement root)
        {
            if (!TryGet(root, "defaults", out var element) || !CheckObject(element, "defaults", ConfigurationShapes.Defaults))
            {
                return new EdgeDefaults
                {
                    PollInterval = EdgeDefaults.DefaultPollInterval,
                    ResponseTimeout = EdgeDefaults.DefaultResponseTimeout,
                    HttpTimeout = EdgeDefaults.DefaultHttpTimeout,
                };
            }
            return new EdgeDefaults
            {
                PollInterval = PollInterval(element, "defaults", "pollIntervalMs", EdgeDefaults.DefaultPollInterval),
                ResponseTimeout = ResponseTimeout(element, "defaults", "responseTimeoutMs", EdgeDefaults.DefaultResponseTimeout),
                HttpTimeout = HttpTimeout(element, "defaults", "httpTimeoutMs", EdgeDefaults.DefaultHttpTimeout),
            };
        }

        // ---- Modbus ----

        private ModbusDeviceConfiguration? ModbusDevice(JsonElement element, string path, EdgeDefaults defaults)
        {
            if (!CheckObject(element, path, ConfigurationShapes.ModbusDevice))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var name = SourceName(element, path);
            var machineId = MachineId(element, path, "machineId");

            var hasTcp = TryGet(element, "tcp", out var tcp);
            var hasRtu = TryGet(element, "rtu", out var rtu);
            ModbusEndpoint? endpoint = null;
            if (hasTcp && hasRtu)
            {
                Error(path, "give either 'tcp' or 'rtu', not both");
            }
            else if (hasTcp)
            {
                endpoint = Tcp(tcp, Member(path, "tcp"));
            }
            else if (hasRtu)
            {
                endpoint = Rtu(rtu, Member(path, "rtu"));
            }
            else
            {
                Error(path, "missing 'tcp' ({ host, port }) or 'rtu' ({ serialPort, baudRate, ... }): say how the device is reached");
            }

            var unitId = hasRtu
                ? Integer(element, path, "unitId", 1, 247, required: false) ?? 1
                : Integer(element, path, "unitId", 0, 255, required: false) ?? 1;
            var pollInterval = PollInterval(element, path, "pollIntervalMs", defaults.PollInterval);
            var responseTimeout = ResponseTimeout(element, path, "responseTimeoutMs", defaults.ResponseTimeout);
            var registers = Array(element, path, "registers", required: true, Register);
            if (registers.Count == 0 && ErrorCount == errorsBefore)
            {
                Error(Member(path, "registers"), "no registers; map at least one register to a sensor");
            }
            CheckDuplicateSensors(registers.Select(r => (r.Value.Sensor, Member(r.Path, "sensor"))));
            CheckOverlaps(registers);

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new ModbusDeviceConfiguration
            {
                Name = name!,
                MachineId = machineId!,
                Endpoint = endpoint!,
                UnitId = (byte)unitId,
                PollInterval = pollInterval,
                ResponseTimeout = responseTimeout,
                Points = registers.Values(),
            };
        }

        private ModbusTcpEndpoint? Tcp(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.Tcp))
            {
                return null;
            }
            var host = HostName(element, path, "host");
            var port = Integer(element, path, "port", 1, 65535, required: false) ?? 502;
            return host is null ? null : new ModbusTcpEndpoint(host, (int)port);
        }

        private ModbusRtuEndpoint? Rtu(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.Rtu))
            {
                return null;
            }
            var serialPort = String(element, path, "serialPort", required: true);
            var baudRate = Integer(element, path, "baudRate", 300, 4_000_000, required: false) ?? 19200;
            var parity = Choice(element, path, "parity", "parity", Parities) ?? 'E';
            var dataBits = Integer(element, path, "dataBits", 7, 8, required: false) ?? 8;
            var stopBits = Integer(element, path, "stopBits", 1, 2, required: false) ?? 1;
            return serialPort is null ? null : new ModbusRtuEndpoint(serialPort, (int)baudRate, parity, (int)dataBits, (int)stopBits);
        }

        private ModbusPoint? Register(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.Register))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var sensor = SensorName(element, path, "sensor");
            var table = Choice(element, path, "table", "table", Tables, required: true);
            var address = Integer(element, path, "address", 0, 65535, required: true);
            var isBits = table is ModbusTable.Coils or ModbusTable.DiscreteInputs;
            var type = Choice(element, path, "type", "type", Types) ?? (isBits ? ModbusDataType.Bool : ModbusDataType.UInt16);
            var wordOrder = Choice(element, path, "wordOrder", "word order", WordOrders);
            var byteOrder = Choice(element, path, "byteOrder", "byte order", ByteOrders);
            var scale = Number(element, path, "scale", nonZero: true) ?? 1;
            var offset = Number(element, path, "offset", nonZero: false) ?? 0;
            var unit = String(element, path, "unit", required: false);

            if (table is { } t)
            {
                if (isBits && type != ModbusDataType.Bool)
                {
                    Error(Member(path, "type"), $"{TableName(t)}s hold single bits, so type must be 'bool', not '{TypeName(type)}'");
                }
                else if (!isBits && type == ModbusDataType.Bool)
                {
                    Error(Member(path, "type"), "'bool' is for coils and discrete inputs; read a register as uint16 (0 or 1)");
                }
                if (isBits && wordOrder is not null)
                {
                    Error(Member(path, "wordOrder"), $"word order applies to registers, not to a {TableName(t)}");
                }
                if (isBits && byteOrder is not null)
                {
                    Error(Member(path, "byteOrder"), $"byte order applies to registers, not to a {TableName(t)}");
                }
            }
            if (address is { } a && a + Width(type) - 1 > 65535)
            {
                Error(Member(path, "address"), $"a {TypeName(type)} at {a} needs registers up to {a + Width(type) - 1}, past the last address 65535");
            }
            if (sensor is not null)
            {
                CatalogUnit(Member(path, "unit"), sensor, unit);
            }

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new ModbusPoint
            {
                Sensor = sensor!,
                Table = table!.Value,
                Address = (int)address!.Value,
                Type = type,
                WordOrder = wordOrder ?? WordOrder.HighFirst,
                ByteOrder = byteOrder ?? ByteOrder.HighFirst,
                Scale = scale,
                Offset = offset,
                Unit = unit,
            };
        }

        private void CheckOverlaps(List<(ModbusPoint Value, string Path)> registers)
        {
            foreach (var table in registers.GroupBy(r => r.Value.Table))
            {
                var sorted = table.OrderBy(r => r.Value.Address).ToList();
                for (var i = 1; i < sorted.Count; i++)
                {
                    var previous = sorted[i - 1];
                    var current = sorted[i];
                    var previousEnd = previous.Value.Address + Width(previous.Value.Type) - 1;
                    if (current.Value.Address <= previousEnd)
                    {
                        var currentEnd = current.Value.Address + Width(current.Value.Type) - 1;
                        Error(Member(current.Path, "address"),
                            $"{TableName(table.Key)}s {current.Value.Address}..{currentEnd} of '{current.Value.Sensor}' overlap " +
                            $"{previous.Value.Address}..{previousEnd} of '{previous.Value.Sensor}' ({previous.Path})");
                    }
                }
            }
        }

        private static int Width(ModbusDataType type) => type switch
        {
            ModbusDataType.Bool or ModbusDataType.Int16 or ModbusDataType.UInt16 => 1,
            ModbusDataType.Int32 or ModbusDataType.UInt32 or ModbusDataType.Float32 => 2,
            _ => 4,
        };

        private static string TableName(ModbusTable table) => Tables.First(t => t.Value == table).Name switch
        {
            "holding" => "holding register",
            "input" => "input register",
            "discrete" => "discrete input",
            var name => name,
        };

        private static string TypeName(ModbusDataType type) => Types.First(t => t.Value == type).Name;

        // ---- MQTT ----

        private MqttSourceConfiguration? MqttSource(JsonElement element, string path, string gatewayId)
        {
            if (!CheckObject(element, path, ConfigurationShapes.MqttSource))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var name = SourceName(element, path);
            MqttBrokerConfiguration? broker = null;
            if (TryGet(element, "broker", out var brokerElement))
            {
                broker = Broker(brokerElement, Member(path, "broker"));
            }
            else
            {
                Missing(Member(path, "broker"));
            }
            var clientId = String(element, path, "clientId", required: false, maxLength: 128);
            var subscriptions = Array(element, path, "subscriptions", required: true, Subscription);
            if (subscriptions.Count == 0 && ErrorCount == errorsBefore)
            {
                Error(Member(path, "subscriptions"), "no subscriptions; subscribe to at least one topic filter");
            }
            var filters = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (subscription, subscriptionPath) in subscriptions)
            {
                if (!filters.TryAdd(subscription.Topic.Text, subscriptionPath))
                {
                    Error(Member(subscriptionPath, "topic"), $"topic filter '{subscription.Topic.Text}' is already subscribed at {filters[subscription.Topic.Text]}");
                }
            }

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new MqttSourceConfiguration
            {
                Name = name!,
                Broker = broker!,
                ClientId = clientId ?? $"{gatewayId}-{name}",
                Subscriptions = subscriptions.Values(),
            };
        }

        private MqttBrokerConfiguration? Broker(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.Broker))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var host = HostName(element, path, "host");
            var tls = Bool(element, path, "tls") ?? false;
            var port = Integer(element, path, "port", 1, 65535, required: false) ?? (tls ? 8883 : 1883);
            var caFile = String(element, path, "caFile", required: false);
            var username = String(element, path, "username", required: false);
            var password = String(element, path, "password", required: false);
            if (caFile is not null && !tls)
            {
                Error(Member(path, "caFile"), "a CA file is only used with \"tls\": true");
            }
            if (password is not null && username is null)
            {
                Error(Member(path, "password"), "a password needs a username");
            }
            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new MqttBrokerConfiguration
            {
                Host = host!,
                Port = (int)port,
                Tls = tls,
                CaFile = caFile,
                Username = username,
                Password = password,
            };
        }

        private MqttSubscription? Subscription(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.Subscription))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            MqttTopicFilter? filter = null;
            if (String(element, path, "topic", required: true) is { } topic && !MqttTopicFilter.TryParse(topic, out filter, out var topicProblem))
            {
                Error(Member(path, "topic"), topicProblem);
            }
            var qos = Integer(element, path, "qos", 0, 1, required: false) ?? 1;
            MachineIdTemplate? machineId = null;
            if (String(element, path, "machineId", required: true) is { } machineIdText && filter is not null
                && !MachineIdTemplate.TryParse(machineIdText, filter, out machineId, out var machineIdProblem))
            {
                Error(Member(path, "machineId"), machineIdProblem);
            }
            var timestampPath = PathExpression(element, path, "timestampPath", required: false);
            var sensors = Sensors(element, path);

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new MqttSubscription
            {
                Topic = filter!,
                Qos = (int)qos,
                MachineId = machineId!,
                TimestampPath = timestampPath,
                Sensors = sensors!,
            };
        }

        // ---- HTTP ----

        private HttpSourceConfiguration? HttpSource(JsonElement element, string path, EdgeDefaults defaults)
        {
            if (!CheckObject(element, path, ConfigurationShapes.HttpSource))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var name = SourceName(element, path);
            Uri? url = null;
            if (String(element, path, "url", required: true) is { } urlText
                && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https")))
            {
                Error(Member(path, "url"), $"'{urlText}' is not an absolute http:// or https:// URL");
            }
            var pollInterval = PollInterval(element, path, "pollIntervalMs", defaults.PollInterval);
            var timeout = HttpTimeout(element, path, "timeoutMs", defaults.HttpTimeout);
            var headers = Headers(element, path);
            var machineId = MachineId(element, path, "machineId");
            var timestampPath = PathExpression(element, path, "timestampPath", required: false);
            var sensors = Sensors(element, path);

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new HttpSourceConfiguration
            {
                Name = name!,
                Url = url!,
                PollInterval = pollInterval,
                Timeout = timeout,
                Headers = headers,
                MachineId = machineId!,
                TimestampPath = timestampPath,
                Sensors = sensors!,
            };
        }

        private Dictionary<string, string> Headers(JsonElement element, string path)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var at = Member(path, "headers");
            if (!TryGet(element, "headers", out var map))
            {
                return headers;
            }
            if (map.ValueKind != JsonValueKind.Object)
            {
                Error(at, $"expected an object of header name -> value, got {Describe(map)}");
                return headers;
            }
            foreach (var header in map.EnumerateObject())
            {
                var headerPath = Member(at, header.Name);
                if (header.Name.Length == 0 || !header.Name.All(IsTokenCharacter))
                {
                    Error(headerPath, $"'{header.Name}' is not a valid HTTP header name");
                }
                else if (header.Value.ValueKind != JsonValueKind.String)
                {
                    Error(headerPath, $"expected a string, got {Describe(header.Value)}");
                }
                else if (header.Value.GetString()!.AsSpan().ContainsAny('\r', '\n'))
                {
                    Error(headerPath, "a header value must not contain line breaks");
                }
                else if (!headers.TryAdd(header.Name, header.Value.GetString()!))
                {
                    Error(headerPath, "duplicate header (names are case-insensitive)");
                }
            }
            return headers;
        }

        private static bool IsTokenCharacter(char c) =>
            c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9')
                or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

        // ---- Sensor mappings shared by MQTT and HTTP ----

        private List<SensorMapping>? Sensors(JsonElement element, string path)
        {
            var at = Member(path, "sensors");
            if (!TryGet(element, "sensors", out var map))
            {
                Missing(at);
                return null;
            }
            if (map.ValueKind != JsonValueKind.Object)
            {
                Error(at, $"expected an object of sensor name -> path, got {Describe(map)}");
                return null;
            }
            var errorsBefore = ErrorCount;
            var sensors = new List<SensorMapping>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in map.EnumerateObject())
            {
                var sensorPath = Member(at, property.Name);
                if (!seen.Add(property.Name))
                {
                    Error(sensorPath, "duplicate sensor; each sensor may be mapped once");
                    continue;
                }
                if (!SensorCatalog.IsValidName(property.Name))
                {
                    Error(sensorPath, $"sensor name '{property.Name}' is not lower snake case ([a-z][a-z0-9_], at most {SensorCatalog.MaxNameLength} characters)");
                    continue;
                }
                if (SensorMapping(property.Name, property.Value, sensorPath) is { } mapping)
                {
                    sensors.Add(mapping);
                }
            }
            if (sensors.Count == 0 && ErrorCount == errorsBefore)
            {
                Error(at, "no sensors; map at least one sensor to a path");
            }
            return ErrorCount > errorsBefore ? null : sensors;
        }

        private SensorMapping? SensorMapping(string sensor, JsonElement value, string path)
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                return CompilePath(value.GetString()!, path) is { } shortPath
                    ? new SensorMapping { Sensor = sensor, Path = shortPath, CatalogUnit = CatalogUnit(path, sensor, null) }
                    : null;
            }
            if (value.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected a path string like \"$.temp\" or an object {{ \"path\", \"unit\", \"scale\", \"offset\" }}, got {Describe(value)}");
                return null;
            }
            if (!CheckObject(value, path, ConfigurationShapes.Sensor))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var expression = PathExpression(value, path, "path", required: true);
            var unit = String(value, path, "unit", required: false);
            var scale = Number(value, path, "scale", nonZero: true) ?? 1;
            var offset = Number(value, path, "offset", nonZero: false) ?? 0;
            var catalogUnit = CatalogUnit(Member(path, "unit"), sensor, unit);
            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new SensorMapping
            {
                Sensor = sensor,
                Path = expression!,
                Unit = unit,
                CatalogUnit = catalogUnit,
                Scale = scale,
                Offset = offset,
            };
        }

        // ---- OPC UA (through OPC Publisher) ----

        private OpcConfiguration? Opc(JsonElement root)
        {
            if (!TryGet(root, "opc", out var element))
            {
                return OpcConfiguration.Empty;
            }
            if (!CheckObject(element, "opc", ConfigurationShapes.Opc))
            {
                return null;
            }
            var mappings = Array(element, "opc", "mappings", required: false, OpcMapping);
            var selectors = new Dictionary<(string?, string?, string?), string>();
            foreach (var (mapping, path) in mappings)
            {
                if (!selectors.TryAdd((mapping.DataSetWriter, mapping.DataSetName, mapping.EndpointUrl), path))
                {
                    Error(path, $"selects the same messages as {selectors[(mapping.DataSetWriter, mapping.DataSetName, mapping.EndpointUrl)]}");
                }
            }
            return new OpcConfiguration { Mappings = mappings.Values() };
        }

        private OpcMapping? OpcMapping(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.OpcMapping))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var dataSetWriter = String(element, path, "dataSetWriter", required: false);
            var dataSetName = String(element, path, "dataSetName", required: false);
            var endpointUrl = String(element, path, "endpointUrl", required: false);
            if (dataSetWriter is null && dataSetName is null && endpointUrl is null && ErrorCount == errorsBefore)
            {
                Error(path, "give at least one of dataSetWriter, dataSetName or endpointUrl to say which messages this mapping takes");
            }
            var machineId = MachineId(element, path, "machineId");
            var fields = Array(element, path, "fields", required: true, OpcField);
            if (fields.Count == 0 && ErrorCount == errorsBefore)
            {
                Error(Member(path, "fields"), "no fields; map at least one field to a sensor");
            }
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (field, fieldPath) in fields)
            {
                if (!names.TryAdd(field.Field, fieldPath))
                {
                    Error(Member(fieldPath, "field"), $"duplicate field '{field.Field}'; it is already mapped at {names[field.Field]}");
                }
            }
            CheckDuplicateSensors(fields.Select(f => (f.Value.Sensor, Member(f.Path, "sensor"))));

            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new OpcMapping
            {
                DataSetWriter = dataSetWriter,
                DataSetName = dataSetName,
                EndpointUrl = endpointUrl,
                MachineId = machineId!,
                Fields = fields.Values(),
            };
        }

        private OpcFieldMapping? OpcField(JsonElement element, string path)
        {
            if (!CheckObject(element, path, ConfigurationShapes.OpcField))
            {
                return null;
            }
            var errorsBefore = ErrorCount;
            var field = String(element, path, "field", required: true);
            var sensor = SensorName(element, path, "sensor");
            var unit = String(element, path, "unit", required: false);
            var scale = Number(element, path, "scale", nonZero: true) ?? 1;
            var offset = Number(element, path, "offset", nonZero: false) ?? 0;
            var catalogUnit = sensor is null ? null : CatalogUnit(Member(path, "unit"), sensor, unit);
            if (ErrorCount > errorsBefore)
            {
                return null;
            }
            return new OpcFieldMapping
            {
                Field = field!,
                Sensor = sensor!,
                Unit = unit,
                CatalogUnit = catalogUnit,
                Scale = scale,
                Offset = offset,
            };
        }

        private QueueConfiguration? Queue(JsonElement root)
        {
            if (!TryGet(root, "queue", out var element))
            {
                return new QueueConfiguration { MaxBytes = QueueConfiguration.DefaultMaxBytes };
            }
            if (!CheckObject(element, "queue", ConfigurationShapes.Queue))
            {
                return null;
            }
            var maxBytes = Integer(element, "queue", "maxBytes", MinQueueBytes, MaxQueueBytes, required: false);
            return new QueueConfiguration { MaxBytes = maxBytes ?? QueueConfiguration.DefaultMaxBytes };
        }

        // ---- Shared checks ----

        private string? SourceName(JsonElement element, string path)
        {
            var name = String(element, path, "name", required: true);
            if (name is null)
            {
                return null;
            }
            var at = Member(path, "name");
            // Names become keys of the twin's reported properties, where '.', '$' and spaces are not allowed.
            if (name.Length > 64 || !char.IsAsciiLetterOrDigit(name[0])
                || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                Error(at, $"source name '{name}' must be 1-64 letters, digits, '_' or '-', starting with a letter or digit");
                return null;
            }
            if (!_sourceNames.TryAdd(name, at))
            {
                Error(at, $"duplicate source name '{name}'; it is already used at {_sourceNames[name]}");
                return null;
            }
            return name;
        }

        private string? MachineId(JsonElement element, string path, string property)
        {
            var id = String(element, path, property, required: true);
            if (id is not null && !MachineIds.IsValid(id, out var problem))
            {
                Error(Member(path, property), problem);
                return null;
            }
            return id;
        }

        private string? HostName(JsonElement element, string path, string property)
        {
            var host = String(element, path, property, required: true, maxLength: 253);
            if (host is not null && Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                Error(Member(path, property), $"'{host}' is not a host name or IP address");
                return null;
            }
            return host;
        }

        private string? SensorName(JsonElement element, string path, string property)
        {
            var sensor = String(element, path, property, required: true);
            if (sensor is not null && !SensorCatalog.IsValidName(sensor))
            {
                Error(Member(path, property),
                    $"sensor name '{sensor}' is not lower snake case ([a-z][a-z0-9_], at most {SensorCatalog.MaxNameLength} characters)");
                return null;
            }
            return sensor;
        }

        /// <summary>The catalog unit of <paramref name="sensor"/>, after checking a declared unit converts to it.</summary>
        private string? CatalogUnit(string unitPath, string sensor, string? unit)
        {
            var known = SensorCatalog.TryGet(sensor, out var definition);
            if (unit is null)
            {
                return known ? definition!.Unit : null;
            }
            if (!known)
            {
                Error(unitPath, $"'{sensor}' is not in the sensor catalog, so its values are sent as they are, without a unit; remove 'unit' or use a catalog sensor");
                return null;
            }
            if (!UnitConverter.TryConvert(0, unit, definition!.Unit, out _))
            {
                Error(unitPath, $"unit '{unit}' for {sensor} cannot be converted to {definition.Unit}");
                return null;
            }
            return definition.Unit;
        }

        private void CheckDuplicateSensors(IEnumerable<(string Sensor, string Path)> sensors)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (sensor, path) in sensors)
            {
                if (!seen.TryAdd(sensor, path))
                {
                    Error(path, $"duplicate sensor '{sensor}'; it is already mapped at {seen[sensor]}");
                }
            }
        }

        private JsonPathExpression? PathExpression(JsonElement element, string path, string property, bool required)
        {
            var text = String(element, path, property, required);
            return text is null ? null : CompilePath(text, Member(path, property));
        }

        private JsonPathExpression? CompilePath(string text, string path)
        {
            if (JsonPathExpression.TryParse(text, out var expression, out var problem))
            {
                return expression;
            }
            Error(path, problem);
            return null;
        }

        private TimeSpan PollInterval(JsonElement element, string path, string property, TimeSpan fallback) =>
            Milliseconds(element, path, property, 100, 86_400_000, fallback);

        private TimeSpan ResponseTimeout(JsonElement element, string path, string property, TimeSpan fallback) =>
            Milliseconds(element, path, property, 50, 60_000, fallback);

        private TimeSpan HttpTimeout(JsonElement element, string path, string property, TimeSpan fallback) =>
            Milliseconds(element, path, property, 100, 300_000, fallback);

        private TimeSpan Milliseconds(JsonElement element, string path, string property, long min, long max, TimeSpan fallback) =>
            Integer(element, path, property, min, max, required: false) is { } ms ? TimeSpan.FromMilliseconds(ms) : fallback;

        // ---- JSON primitives ----

        private bool CheckObject(JsonElement element, string path, ObjectShape shape)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected an object, got {Describe(element)}");
                return false;
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    Error(Member(path, property.Name), "duplicate property; each property may appear once");
                }
                else if (!shape.Properties.Contains(property.Name, StringComparer.Ordinal))
                {
                    Error(Member(path, property.Name), UnknownProperty(property.Name, shape.Properties));
                }
            }
            return true;
        }

        private static string UnknownProperty(string name, IReadOnlyList<string> known)
        {
            var closest = known
                .Select(k => (Name: k, Distance: EditDistance(name.ToUpperInvariant(), k.ToUpperInvariant())))
                .Where(k => k.Distance <= Math.Max(1, name.Length / 4))
                .OrderBy(k => k.Distance)
                .Select(k => k.Name)
                .FirstOrDefault();
            var hint = closest is null ? "" : $"; did you mean '{closest}'?";
            return $"unknown property '{name}'{hint} (expected one of: {string.Join(", ", known)})";
        }

        private static int EditDistance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }
            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                    current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
                }
                (previous, current) = (current, previous);
            }
            return previous[b.Length];
        }

        /// <summary>A property's value; JSON null counts as absent (a twin patch removes a property by setting it to null).</summary>
        private static bool TryGet(JsonElement element, string property, out JsonElement value) =>
            element.TryGetProperty(property, out value) && value.ValueKind != JsonValueKind.Null;

        private string? String(JsonElement element, string path, string property, bool required, int maxLength = 1024)
        {
            var at = Member(path, property);
            if (!TryGet(element, property, out var value))
            {
                if (required)
                {
                    Missing(at);
                }
                return null;
            }
            if (value.ValueKind != JsonValueKind.String)
            {
                Error(at, $"expected a string, got {Describe(value)}");
                return null;
            }
            var text = value.GetString()!;
            if (text.Length == 0)
            {
                Error(at, "must not be empty");
                return null;
            }
            if (text.Length > maxLength)
            {
                Error(at, $"longer than {maxLength} characters");
                return null;
            }
            return text;
        }

        private long? Integer(JsonElement element, string path, string property, long min, long max, bool required)
        {
            var at = Member(path, property);
            if (!TryGet(element, property, out var value))
            {
                if (required)
                {
                    Missing(at);
                }
                return null;
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            {
                Error(at, $"expected an integer {min}..{max}, got {Describe(value)}");
                return null;
            }
            if (number < min || number > max)
            {
                Error(at, $"{number} is outside {min}..{max}");
                return null;
            }
            return number;
        }

        private double? Number(JsonElement element, string path, string property, bool nonZero)
        {
            var at = Member(path, property);
            if (!TryGet(element, property, out var value))
            {
                return null;
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            {
                Error(at, $"expected a finite number, got {Describe(value)}");
                return null;
            }
            if (nonZero && number == 0)
            {
                Error(at, "must not be 0");
                return null;
            }
            return number;
        }

        private bool? Bool(JsonElement element, string path, string property)
        {
            if (!TryGet(element, property, out var value))
            {
                return null;
            }
            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Error(Member(path, property), $"expected true or false, got {Describe(value)}");
                return null;
            }
            return value.GetBoolean();
        }

        private T? Choice<T>(JsonElement element, string path, string property, string what, (string Name, T Value)[] choices, bool required = false)
            where T : struct
        {
            var text = String(element, path, property, required);
            if (text is null)
            {
                return null;
            }
            foreach (var (name, value) in choices)
            {
                if (string.Equals(name, text, StringComparison.Ordinal))
                {
                    return value;
                }
            }
            Error(Member(path, property), $"unknown {what} '{text}', expected one of {string.Join(", ", choices.Select(c => c.Name))}");
            return null;
        }

        private List<(T Value, string Path)> Array<T>(JsonElement element, string path, string property, bool required, Func<JsonElement, string, T?> item)
            where T : class
        {
            var items = new List<(T, string)>();
            var at = Member(path, property);
            if (!TryGet(element, property, out var array))
            {
                if (required)
                {
                    Missing(at);
                }
                return items;
            }
            if (array.ValueKind != JsonValueKind.Array)
            {
                Error(at, $"expected an array, got {Describe(array)}");
                return items;
            }
            var index = 0;
            foreach (var child in array.EnumerateArray())
            {
                var childPath = $"{at}[{index++}]";
                if (item(child, childPath) is { } value)
                {
                    items.Add((value, childPath));
                }
            }
            return items;
        }

        private void Missing(string path) => Error(path, "required property is missing");

        private void Error(string path, string reason)
        {
            if (_errors.Count >= MaxErrors)
            {
                _dropped++;
                return;
            }
            _errors.Add(new ConfigurationError(path, reason));
        }

        private static string Member(string parent, string name)
        {
            var simple = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
                && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
            if (!simple)
            {
                return $"{parent}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";
            }
            return parent.Length == 0 ? name : $"{parent}.{name}";
        }

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => $"the string \"{Shorten(element.GetString()!)}\"",
            JsonValueKind.Number => $"the number {element.GetRawText()}",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => "null",
        };

        private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "...");
    }
}

internal static class ParsedListExtensions
{
    public static IReadOnlyList<T> Values<T>(this List<(T Value, string Path)> items) => [.. items.Select(i => i.Value)];
}
