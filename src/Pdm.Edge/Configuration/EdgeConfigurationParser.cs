using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Pdm.IotHub;
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
/// Reads the edge configuration document (docs/edge-configuration.md). What a document may contain is
/// docs/edge-configuration.schema.json (embedded, evaluated with JsonSchema.Net, see <see cref="EdgeConfigurationSchema"/>);
/// a document the schema accepts is read with System.Text.Json, and only rules across fields are checked here
/// (overlapping registers, duplicate sensors and names, units, topic filters, path expressions). Every problem of a
/// stage is reported at once, in document order; path expressions, topic filters and machine id templates are compiled
/// once, so a source never meets an invalid one at run time.
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
    public static EdgeConfigurationParseResult Parse(JsonElement document)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<LocatedError>();
        using var normalized = Normalize(document, order, errors);
        errors.AddRange(EdgeConfigurationSchema.Validate(normalized.RootElement));
        if (errors.Count > 0)
        {
            var sorted = errors.Select((e, i) => (e, i))
                .OrderBy(x => order.GetValueOrDefault(x.e.Anchor, int.MaxValue)).ThenBy(x => x.i)
                .Select(x => x.e.Error);
            return Result(null, [.. sorted]);
        }
        var parsed = normalized.RootElement.Deserialize(ConfigurationDocumentContext.Default.ConfigurationDocument)!;
        var run = new Run();
        var configuration = run.Build(parsed);
        return Result(run.Errors.Count == 0 ? configuration : null, run.Errors);
    }

    private static EdgeConfigurationParseResult Result(EdgeConfiguration? configuration, List<ConfigurationError> errors)
    {
        if (errors.Count > MaxErrors)
        {
            var dropped = errors.Count - MaxErrors;
            errors = [.. errors.Take(MaxErrors), new ConfigurationError("", $"{dropped} more errors not shown")];
        }
        return new EdgeConfigurationParseResult(configuration, errors);
    }

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

    /// <summary>
    /// A copy of the document without properties set to null (a twin patch removes a property that way, so null counts
    /// as absent) and without repeated properties, which JSON allows but this document does not (each is an error).
    /// Records each node's position, so errors can be listed as the document reads.
    /// </summary>
    private static JsonDocument Normalize(JsonElement document, Dictionary<string, int> order, List<LocatedError> errors)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Copy(document, "", writer, order, errors);
        }
        return JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
    }

    private static void Copy(JsonElement element, string path, Utf8JsonWriter writer, Dictionary<string, int> order, List<LocatedError> errors)
    {
        order.TryAdd(path, order.Count);
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var at = EdgeConfigurationSchema.Member(path, property.Name);
                    if (!seen.Add(property.Name))
                    {
                        var reason = path.EndsWith("sensors", StringComparison.Ordinal)
                            ? "duplicate sensor; each sensor may be mapped once"
                            : "duplicate property; each property may appear once";
                        errors.Add(new(at, new ConfigurationError(at, reason)));
                    }
                    else if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        writer.WritePropertyName(property.Name);
                        Copy(property.Value, at, writer, order, errors);
                    }
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Copy(item, $"{path}[{index++}]", writer, order, errors);
                }
                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// One document the schema accepted, turned into the configuration: the rules across fields, and the checks
    /// a regular expression cannot make (host names, URLs, the reserved gateway ids, catalog units).
    /// </summary>
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

        private static readonly Dictionary<string, char> Parities = new(StringComparer.Ordinal) { ["none"] = 'N', ["even"] = 'E', ["odd"] = 'O' };

        private readonly Dictionary<string, string> _sourceNames = new(StringComparer.Ordinal);

        public List<ConfigurationError> Errors { get; } = [];

        public EdgeConfiguration Build(ConfigurationDocument document)
        {
            if (!DeviceIds.IsValid(document.GatewayId, out var gatewayProblem))
            {
                Error("gatewayId", gatewayProblem.Replace("device id", "gateway id", StringComparison.Ordinal));
            }
            var defaults = new EdgeDefaults
            {
                PollInterval = Milliseconds(document.Defaults?.PollIntervalMs) ?? EdgeDefaults.DefaultPollInterval,
                ResponseTimeout = Milliseconds(document.Defaults?.ResponseTimeoutMs) ?? EdgeDefaults.DefaultResponseTimeout,
                HttpTimeout = Milliseconds(document.Defaults?.HttpTimeoutMs) ?? EdgeDefaults.DefaultHttpTimeout,
            };
            return new EdgeConfiguration
            {
                SchemaVersion = document.SchemaVersion,
                GatewayId = document.GatewayId,
                Defaults = defaults,
                Modbus = [.. (document.Modbus ?? []).Select((d, i) => ModbusDevice(d, $"modbus[{i}]", defaults))],
                Mqtt = [.. (document.Mqtt ?? []).Select((m, i) => MqttSource(m, $"mqtt[{i}]", document.GatewayId))],
                Http = [.. (document.Http ?? []).Select((h, i) => HttpSource(h, $"http[{i}]", defaults)).OfType<HttpSourceConfiguration>()],
                Opc = Opc(document.Opc),
                Queue = new QueueConfiguration { MaxBytes = document.Queue?.MaxBytes ?? QueueConfiguration.DefaultMaxBytes },
            };
        }

        // ---- Modbus ----

        private ModbusDeviceConfiguration ModbusDevice(ModbusDeviceDocument device, string path, EdgeDefaults defaults)
        {
            SourceName(device.Name, path);
            MachineId(device.MachineId, Member(path, "machineId"));
            ModbusEndpoint endpoint = device.Tcp is { } tcp
                ? new ModbusTcpEndpoint(HostName(tcp.Host, Member(Member(path, "tcp"), "host")), tcp.Port ?? 502)
                : new ModbusRtuEndpoint(device.Rtu!.SerialPort, device.Rtu.BaudRate ?? 19200,
                    device.Rtu.Parity is { } parity ? Parities[parity] : 'E', device.Rtu.DataBits ?? 8, device.Rtu.StopBits ?? 1);
            var registers = device.Registers.Select((r, i) => (Value: Register(r, $"{Member(path, "registers")}[{i}]"), Path: $"{Member(path, "registers")}[{i}]")).ToList();
            CheckDuplicateSensors(registers.Select(r => (r.Value.Sensor, Member(r.Path, "sensor"))));
            CheckOverlaps(registers);
            return new ModbusDeviceConfiguration
            {
                Name = device.Name,
                MachineId = device.MachineId,
                Endpoint = endpoint,
                UnitId = (byte)(device.UnitId ?? 1),
                PollInterval = Milliseconds(device.PollIntervalMs) ?? defaults.PollInterval,
                ResponseTimeout = Milliseconds(device.ResponseTimeoutMs) ?? defaults.ResponseTimeout,
                Points = [.. registers.Select(r => r.Value)],
            };
        }

        private ModbusPoint Register(RegisterDocument register, string path)
        {
            SensorName(register.Sensor, Member(path, "sensor"));
            var table = Tables.First(t => t.Name == register.Table).Value;
            var isBits = table is ModbusTable.Coils or ModbusTable.DiscreteInputs;
            var type = register.Type is { } typeName ? Types.First(t => t.Name == typeName).Value : isBits ? ModbusDataType.Bool : ModbusDataType.UInt16;
            if (isBits && type != ModbusDataType.Bool)
            {
                Error(Member(path, "type"), $"{TableName(table)}s hold single bits, so type must be 'bool', not '{TypeName(type)}'");
            }
            else if (!isBits && type == ModbusDataType.Bool)
            {
                Error(Member(path, "type"), "'bool' is for coils and discrete inputs; read a register as uint16 (0 or 1)");
            }
            if (isBits && register.WordOrder is not null)
            {
                Error(Member(path, "wordOrder"), $"word order applies to registers, not to a {TableName(table)}");
            }
            if (isBits && register.ByteOrder is not null)
            {
                Error(Member(path, "byteOrder"), $"byte order applies to registers, not to a {TableName(table)}");
            }
            if (register.Address + Width(type) - 1 > 65535)
            {
                Error(Member(path, "address"), $"a {TypeName(type)} at {register.Address} needs registers up to {register.Address + Width(type) - 1}, past the last address 65535");
            }
            CatalogUnit(Member(path, "unit"), register.Sensor, register.Unit);
            return new ModbusPoint
            {
                Sensor = register.Sensor,
                Table = table,
                Address = register.Address,
                Type = type,
                WordOrder = register.WordOrder == "lowFirst" ? WordOrder.LowFirst : WordOrder.HighFirst,
                ByteOrder = register.ByteOrder == "lowFirst" ? ByteOrder.LowFirst : ByteOrder.HighFirst,
                Scale = register.Scale ?? 1,
                Offset = register.Offset ?? 0,
                Unit = register.Unit,
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

        private MqttSourceConfiguration MqttSource(MqttSourceDocument source, string path, string gatewayId)
        {
            SourceName(source.Name, path);
            var brokerPath = Member(path, "broker");
            var broker = source.Broker;
            var tls = broker.Tls ?? false;
            if (broker.CaFile is not null && !tls)
            {
                Error(Member(brokerPath, "caFile"), "a CA file is only used with \"tls\": true");
            }
            var subscriptions = new List<MqttSubscription>();
            var filters = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < source.Subscriptions.Count; i++)
            {
                var subscriptionPath = $"{Member(path, "subscriptions")}[{i}]";
                if (Subscription(source.Subscriptions[i], subscriptionPath) is not { } subscription)
                {
                    continue;
                }
                if (!filters.TryAdd(subscription.Topic.Text, subscriptionPath))
                {
                    Error(Member(subscriptionPath, "topic"), $"topic filter '{subscription.Topic.Text}' is already subscribed at {filters[subscription.Topic.Text]}");
                }
                subscriptions.Add(subscription);
            }
            return new MqttSourceConfiguration
            {
                Name = source.Name,
                Broker = new MqttBrokerConfiguration
                {
                    Host = HostName(broker.Host, Member(brokerPath, "host")),
                    Port = broker.Port ?? (tls ? 8883 : 1883),
                    Tls = tls,
                    CaFile = broker.CaFile,
                    Username = broker.Username,
                    Password = broker.Password,
                },
                ClientId = source.ClientId ?? $"{gatewayId}-{source.Name}",
                Subscriptions = subscriptions,
            };
        }

        private MqttSubscription? Subscription(SubscriptionDocument subscription, string path)
        {
            var errorsBefore = Errors.Count;
            MachineIdTemplate? machineId = null;
            if (!MqttTopicFilter.TryParse(subscription.Topic, out var filter, out var topicProblem))
            {
                Error(Member(path, "topic"), topicProblem);
            }
            else if (!MachineIdTemplate.TryParse(subscription.MachineId, filter, out machineId, out var machineIdProblem))
            {
                Error(Member(path, "machineId"), machineIdProblem);
            }
            var timestampPath = subscription.TimestampPath is { } timestamp ? CompilePath(timestamp, Member(path, "timestampPath")) : null;
            var sensors = Sensors(subscription.Sensors, Member(path, "sensors"));
            return Errors.Count > errorsBefore ? null : new MqttSubscription
            {
                Topic = filter!,
                Qos = subscription.Qos ?? 1,
                MachineId = machineId!,
                TimestampPath = timestampPath,
                Sensors = sensors,
            };
        }

        // ---- HTTP ----

        private HttpSourceConfiguration? HttpSource(HttpSourceDocument source, string path, EdgeDefaults defaults)
        {
            var errorsBefore = Errors.Count;
            SourceName(source.Name, path);
            MachineId(source.MachineId, Member(path, "machineId"));
            if (!Uri.TryCreate(source.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                Error(Member(path, "url"), $"'{source.Url}' is not an absolute http:// or https:// URL");
            }
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in source.Headers ?? [])
            {
                if (!headers.TryAdd(name, value))
                {
                    Error(Member(Member(path, "headers"), name), "duplicate header (names are case-insensitive)");
                }
            }
            var timestampPath = source.TimestampPath is { } timestamp ? CompilePath(timestamp, Member(path, "timestampPath")) : null;
            var sensors = Sensors(source.Sensors, Member(path, "sensors"));
            return Errors.Count > errorsBefore ? null : new HttpSourceConfiguration
            {
                Name = source.Name,
                Url = url!,
                PollInterval = Milliseconds(source.PollIntervalMs) ?? defaults.PollInterval,
                Timeout = Milliseconds(source.TimeoutMs) ?? defaults.HttpTimeout,
                Headers = headers,
                MachineId = source.MachineId,
                TimestampPath = timestampPath,
                Sensors = sensors,
            };
        }

        // ---- Sensor mappings shared by MQTT and HTTP ----

        private List<SensorMapping> Sensors(JsonElement map, string path)
        {
            var sensors = new List<SensorMapping>();
            foreach (var property in map.EnumerateObject())
            {
                var sensor = property.Name;
                var at = Member(path, sensor);
                SensorName(sensor, at);
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    if (CompilePath(property.Value.GetString()!, at) is { } shortPath)
                    {
                        sensors.Add(new SensorMapping { Sensor = sensor, Path = shortPath, CatalogUnit = CatalogUnit(at, sensor, null) });
                    }
                    continue;
                }
                var mapping = property.Value.Deserialize(ConfigurationDocumentContext.Default.SensorMappingDocument)!;
                var expression = CompilePath(mapping.Path, Member(at, "path"));
                var catalogUnit = CatalogUnit(Member(at, "unit"), sensor, mapping.Unit);
                if (expression is not null)
                {
                    sensors.Add(new SensorMapping
                    {
                        Sensor = sensor,
                        Path = expression,
                        Unit = mapping.Unit,
                        CatalogUnit = catalogUnit,
                        Scale = mapping.Scale ?? 1,
                        Offset = mapping.Offset ?? 0,
                    });
                }
            }
            return sensors;
        }

        // ---- OPC UA (through OPC Publisher) ----

        private OpcConfiguration Opc(OpcDocument? opc)
        {
            var mappings = new List<OpcMapping>();
            var selectors = new Dictionary<(string?, string?, string?), string>();
            var documents = opc?.Mappings ?? [];
            for (var i = 0; i < documents.Count; i++)
            {
                var path = $"opc.mappings[{i}]";
                var mapping = OpcMapping(documents[i], path);
                if (!selectors.TryAdd((mapping.DataSetWriter, mapping.DataSetName, mapping.EndpointUrl), path))
                {
                    Error(path, $"selects the same messages as {selectors[(mapping.DataSetWriter, mapping.DataSetName, mapping.EndpointUrl)]}");
                }
                mappings.Add(mapping);
            }
            return mappings.Count == 0 ? OpcConfiguration.Empty : new OpcConfiguration { Mappings = mappings };
        }

        private OpcMapping OpcMapping(OpcMappingDocument mapping, string path)
        {
            MachineId(mapping.MachineId, Member(path, "machineId"));
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            var fields = new List<OpcFieldMapping>();
            for (var i = 0; i < mapping.Fields.Count; i++)
            {
                var field = mapping.Fields[i];
                var fieldPath = $"{Member(path, "fields")}[{i}]";
                if (!names.TryAdd(field.Field, fieldPath))
                {
                    Error(Member(fieldPath, "field"), $"duplicate field '{field.Field}'; it is already mapped at {names[field.Field]}");
                }
                SensorName(field.Sensor, Member(fieldPath, "sensor"));
                fields.Add(new OpcFieldMapping
                {
                    Field = field.Field,
                    Sensor = field.Sensor,
                    Unit = field.Unit,
                    CatalogUnit = CatalogUnit(Member(fieldPath, "unit"), field.Sensor, field.Unit),
                    Scale = field.Scale ?? 1,
                    Offset = field.Offset ?? 0,
                });
            }
            CheckDuplicateSensors(fields.Select((f, i) => (f.Sensor, Member($"{Member(path, "fields")}[{i}]", "sensor"))));
            return new OpcMapping
            {
                DataSetWriter = mapping.DataSetWriter,
                DataSetName = mapping.DataSetName,
                EndpointUrl = mapping.EndpointUrl,
                MachineId = mapping.MachineId,
                Fields = fields,
            };
        }

        // ---- Shared checks ----

        private void SourceName(string name, string path)
        {
            var at = Member(path, "name");
            // The schema's pattern lets a final line break through ('$'); the status keys of the twin would not.
            if (name.Length > 64 || !char.IsAsciiLetterOrDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                Error(at, EdgeConfigurationSchema.SourceNameProblem(name));
            }
            else if (!_sourceNames.TryAdd(name, at))
            {
                Error(at, $"duplicate source name '{name}'; it is already used at {_sourceNames[name]}");
            }
        }

        private void MachineId(string id, string path)
        {
            if (!MachineIds.IsValid(id, out var problem))
            {
                Error(path, problem);
            }
        }

        private void SensorName(string sensor, string path)
        {
            if (!SensorCatalog.IsValidName(sensor))
            {
                Error(path, EdgeConfigurationSchema.SensorNameProblem(sensor));
            }
        }

        private string HostName(string host, string path)
        {
            if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                Error(path, $"'{host}' is not a host name or IP address");
            }
            return host;
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

        private JsonPathExpression? CompilePath(string text, string path)
        {
            if (JsonPathExpression.TryParse(text, out var expression, out var problem))
            {
                return expression;
            }
            Error(path, problem);
            return null;
        }

        private static TimeSpan? Milliseconds(long? milliseconds) => milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

        private void Error(string path, string reason) => Errors.Add(new ConfigurationError(path, reason));

        private static string Member(string parent, string name) => EdgeConfigurationSchema.Member(parent, name);
    }
}
