using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pdm.Telemetry;

/// <summary>Decoding state for one message; one instance per <see cref="TelemetryDecoder.Decode"/> call.</summary>
internal sealed class MessageDecoder(DecodeContext context, DecodeResult result)
{
    private enum SampleKind
    {
        /// <summary>An element of a v1 message's <c>machines</c> array.</summary>
        Machine,
        /// <summary>A plain device object that is the whole body.</summary>
        PlainBody,
        /// <summary>A plain device object inside a top-level array.</summary>
        PlainElement,
    }

    private readonly record struct SampleLocation(SampleKind Kind, int Index)
    {
        public string Path => Kind switch
        {
            SampleKind.Machine => $"machines[{Index}]",
            SampleKind.PlainElement => $"[{Index}]",
            _ => "",
        };
    }

    /// <summary>Which properties of a v1 machine sample were present.</summary>
    [Flags]
    private enum Seen
    {
        None = 0,
        MachineId = 1,
        Timestamp = 2,
        Sequence = 4,
        Values = 8,
        Units = 16,
    }

    /// <summary>What the catalog says about a value, and what it was before unit conversion.</summary>
    private readonly record struct ValueInfo(SensorDefinition? Definition, string? FromUnit, double Original);

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private static readonly byte[] SchemaIdUtf8 = Encoding.UTF8.GetBytes(TelemetryEncoder.SchemaId);

    private readonly DateTimeOffset _latestTimestamp =
        context.EnqueuedTime > DateTimeOffset.MaxValue - TelemetryDecoder.MaxClockSkew
            ? DateTimeOffset.MaxValue
            : context.EnqueuedTime + TelemetryDecoder.MaxClockSkew;

    // Reused for every sample of the message; copied out when a sample is accepted.
    private readonly List<SensorValue> _values = [];
    private readonly List<ValueInfo> _infos = [];
    private readonly List<(string Sensor, string Unit)> _units = [];
    private int _entries;
    private int _nonNullEntries;
    private bool _sampleFailed;
    private bool _messageFailed;

    public void DecodeMessage(ReadOnlySpan<byte> json)
    {
        // Some device SDKs prefix a byte order mark, which JSON readers do not skip.
        if (json.StartsWith(Utf8Bom))
        {
            json = json[Utf8Bom.Length..];
        }
        if (json.IsEmpty)
        {
            FailMessage("", "empty message body");
            return;
        }
        var reader = new Utf8JsonReader(json);
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                DecodeObject(ref reader);
                break;
            case JsonTokenType.StartArray:
                DecodePlainArray(ref reader);
                break;
            default:
                FailMessage("", $"expected a JSON object or an array of objects, got {Describe(ref reader)}");
                return;
        }
        if (!_messageFailed)
        {
            // Throws a JsonException for anything after the top-level value.
            reader.Read();
        }
    }

    public void FailMessage(string path, string reason)
    {
        result.Samples.Clear();
        result.Errors.Clear();
        result.GatewayId = null;
        result.Errors.Add(new DecodeError(path, reason));
        _messageFailed = true;
    }

    private void DecodeObject(ref Utf8JsonReader reader)
    {
        // The schema property decides how to read the object, and it may come last: keep copies of the
        // reader where needed and read those parts once the schema is known.
        var start = reader;
        var machines = default(Utf8JsonReader);
        var gateway = default(Utf8JsonReader);
        bool hasSchema = false, hasMachines = false, machinesDone = false, hasGateway = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("schema"u8))
            {
                reader.Read();
                if (!CheckSchema(ref reader, hasSchema))
                {
                    return;
                }
                hasSchema = true;
            }
            else if (reader.ValueTextEquals("machines"u8))
            {
                reader.Read();
                if (hasMachines)
                {
                    FailMessage("machines", "duplicate property");
                    return;
                }
                hasMachines = true;
                if (hasSchema)
                {
                    DecodeMachines(ref reader);
                    if (_messageFailed)
                    {
                        return;
                    }
                    machinesDone = true;
                }
                else
                {
                    machines = reader;
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("gateway"u8))
            {
                reader.Read();
                if (hasGateway)
                {
                    FailMessage("gateway", "duplicate property");
                    return;
                }
                hasGateway = true;
                gateway = reader;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!hasSchema)
        {
            if (hasMachines)
            {
                FailMessage("schema", $"missing; a message with 'machines' must have \"schema\":\"{TelemetryEncoder.SchemaId}\"");
                return;
            }
            DecodePlainSample(ref start, new SampleLocation(SampleKind.PlainBody, 0));
            return;
        }
        if (hasGateway && !ReadGateway(ref gateway))
        {
            return;
        }
        if (!hasMachines)
        {
            FailMessage("machines", "missing required property");
            return;
        }
        if (!machinesDone)
        {
            DecodeMachines(ref machines);
        }
    }

    private bool CheckSchema(ref Utf8JsonReader reader, bool seenBefore)
    {
        if (seenBefore)
        {
            FailMessage("schema", "duplicate property");
            return false;
        }
        if (reader.TokenType != JsonTokenType.String)
        {
            FailMessage("schema", $"expected a string, got {Describe(ref reader)}");
            return false;
        }
        if (!reader.ValueTextEquals(SchemaIdUtf8))
        {
            FailMessage("schema",
                $"schema '{JsonText.Display(ref reader)}' is not supported; expected {TelemetryEncoder.SchemaId}");
            return false;
        }
        return true;
    }

    private bool ReadGateway(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }
        if (reader.TokenType != JsonTokenType.String)
        {
            FailMessage("gateway", $"expected a string, got {Describe(ref reader)}");
            return false;
        }
        if (TryReadId(ref reader, "gateway id", out var id) is { } problem)
        {
            FailMessage("gateway", problem);
            return false;
        }
        result.GatewayId = id;
        return true;
    }

    private void DecodeMachines(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            FailMessage("machines", $"expected an array of machine samples, got {Describe(ref reader)}");
            return;
        }
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index == TelemetryDecoder.MaxSamplesPerMessage)
            {
                FailMessage("machines", $"more than {TelemetryDecoder.MaxSamplesPerMessage} machine samples in one message; send smaller batches");
                return;
            }
            var location = new SampleLocation(SampleKind.Machine, index);
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                DecodeMachineSample(ref reader, location);
            }
            else
            {
                AddError(location, "", $"expected a machine sample object, got {Describe(ref reader)}");
                reader.Skip();
            }
            index++;
        }
        if (index == 0)
        {
            FailMessage("machines", "empty; at least one machine sample is required");
        }
    }

    private void DecodeMachineSample(ref Utf8JsonReader reader, SampleLocation location)
    {
        BeginSample();
        string? machineId = null;
        DateTimeOffset? timestamp = null;
        long? sequence = null;
        Seen seen = Seen.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("machineId"u8))
            {
                if (FirstTime(ref reader, location, ref seen, Seen.MachineId, "machineId"))
                {
                    machineId = ReadMachineId(ref reader, location);
                }
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                if (FirstTime(ref reader, location, ref seen, Seen.Timestamp, "timestamp"))
                {
                    timestamp = ReadTimestamp(ref reader, location, "timestamp", allowEpoch: false);
                }
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                if (FirstTime(ref reader, location, ref seen, Seen.Sequence, "seq"))
                {
                    sequence = ReadSequence(ref reader, location);
                }
            }
            else if (reader.ValueTextEquals("values"u8))
            {
                if (FirstTime(ref reader, location, ref seen, Seen.Values, "values"))
                {
                    ReadValues(ref reader, location);
                }
            }
            else if (reader.ValueTextEquals("units"u8))
            {
                if (FirstTime(ref reader, location, ref seen, Seen.Units, "units"))
                {
                    ReadUnits(ref reader, location);
                }
            }
            else
            {
                // Unknown properties are ignored so v1 can gain optional fields without breaking readers.
                reader.Read();
                reader.Skip();
            }
        }

        RequireProperty(location, seen, Seen.MachineId, "machineId");
        RequireProperty(location, seen, Seen.Timestamp, "timestamp");
        RequireProperty(location, seen, Seen.Sequence, "seq");
        RequireProperty(location, seen, Seen.Values, "values");
        if (seen.HasFlag(Seen.Values))
        {
            FinishValues(location, "values");
        }
        if (!_sampleFailed && machineId is not null && timestamp is { } ts && sequence is { } seq)
        {
            AddSample(machineId, ts, seq);
        }
    }

    /// <summary>Moves to the property's value; false (with an error, value skipped) if it came before.</summary>
    private bool FirstTime(ref Utf8JsonReader reader, SampleLocation location, ref Seen seen, Seen flag, string name)
    {
        reader.Read();
        if (seen.HasFlag(flag))
        {
            AddError(location, name, "duplicate property");
            reader.Skip();
            return false;
        }
        seen |= flag;
        return true;
    }

    private void RequireProperty(SampleLocation location, Seen seen, Seen flag, string name)
    {
        if (!seen.HasFlag(flag))
        {
            AddError(location, name, "missing required property");
        }
    }

    private void DecodePlainSample(ref Utf8JsonReader reader, SampleLocation location)
    {
        if (TryGetIdProblem(context.DeviceId, "device id") is { } problem)
        {
            FailMessage("", $"plain device JSON takes its machine id from the device id: {problem}");
            return;
        }
        BeginSample();
        DateTimeOffset? timestamp = null;
        long sequence = 0;
        string? timestampName = null;
        var hasSequence = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isTimestamp = reader.ValueTextEquals("timestamp"u8);
            if (isTimestamp || reader.ValueTextEquals("ts"u8))
            {
                var name = isTimestamp ? "timestamp" : "ts";
                reader.Read();
                if (timestampName is not null)
                {
                    AddError(location, name, $"duplicate timestamp; '{timestampName}' was given already");
                    reader.Skip();
                    continue;
                }
                timestampName = name;
                timestamp = ReadTimestamp(ref reader, location, name, allowEpoch: true);
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                if (hasSequence)
                {
                    AddError(location, "seq", "duplicate property");
                    reader.Skip();
                    continue;
                }
                hasSequence = true;
                sequence = ReadSequence(ref reader, location) ?? 0;
            }
            else
            {
                ReadSensorEntry(ref reader, location, "");
            }
        }
        FinishValues(location, "");
        if (!_sampleFailed)
        {
            AddSample(context.DeviceId, timestamp ?? context.EnqueuedTime, sequence);
        }
    }

    private void DecodePlainArray(ref Utf8JsonReader reader)
    {
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index == TelemetryDecoder.MaxSamplesPerMessage)
            {
                FailMessage("", $"more than {TelemetryDecoder.MaxSamplesPerMessage} samples in one message; send smaller batches");
                return;
            }
            var location = new SampleLocation(SampleKind.PlainElement, index);
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                DecodePlainSample(ref reader, location);
                if (_messageFailed)
                {
                    return;
                }
            }
            else
            {
                AddError(location, "", $"expected an object of sensor -> number, got {Describe(ref reader)}");
                reader.Skip();
            }
            index++;
        }
        if (index == 0)
        {
            FailMessage("", "empty array; at least one sample is required");
        }
    }

    private void ReadValues(ref Utf8JsonReader reader, SampleLocation location)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            AddError(location, "values", $"expected an object of sensor -> number, got {Describe(ref reader)}");
            reader.Skip();
            // Counts as given, so "no sensor values" does not pile onto this error.
            _nonNullEntries++;
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ReadSensorEntry(ref reader, location, "values");
        }
    }

    /// <summary>Reads one <c>"sensor": number</c> pair; the reader is on the property name.</summary>
    private void ReadSensorEntry(ref Utf8JsonReader reader, SampleLocation location, string parent)
    {
        _entries++;
        if (_entries > TelemetryDecoder.MaxValuesPerSample)
        {
            if (_entries == TelemetryDecoder.MaxValuesPerSample + 1)
            {
                AddError(location, parent, $"more than {TelemetryDecoder.MaxValuesPerSample} values in one sample");
            }
            reader.Read();
            reader.Skip();
            return;
        }
        if (!TryReadSensorName(ref reader, out var name, out var definition))
        {
            _nonNullEntries++;
            var shown = JsonText.Display(ref reader);
            AddError(location, JsonText.Member(parent, shown),
                $"sensor name '{shown}' is not lower snake case ([a-z][a-z0-9_], at most {SensorCatalog.MaxNameLength} characters)");
            reader.Read();
            reader.Skip();
            return;
        }
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                // The gateway could not read this sensor in this cycle.
                return;
            case JsonTokenType.Number:
                _nonNullEntries++;
                if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
                {
                    AddError(location, JsonText.Member(parent, name), $"{JsonText.Display(ref reader)} is not a finite number");
                    return;
                }
                if (IndexOfSensor(name) >= 0)
                {
                    AddError(location, JsonText.Member(parent, name), "duplicate sensor; each sensor may appear once per sample");
                    return;
                }
                _values.Add(new SensorValue(name, value));
                _infos.Add(new ValueInfo(definition, null, value));
                return;
            default:
                _nonNullEntries++;
                AddError(location, JsonText.Member(parent, name), $"expected a number or null, got {Describe(ref reader)}");
                reader.Skip();
                return;
        }
    }

    private void ReadUnits(ref Utf8JsonReader reader, SampleLocation location)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            AddError(location, "units", $"expected an object of sensor -> unit, got {Describe(ref reader)}");
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (_units.Count >= TelemetryDecoder.MaxValuesPerSample)
            {
                AddError(location, "units", $"more than {TelemetryDecoder.MaxValuesPerSample} units in one sample");
                reader.Read();
                reader.Skip();
                continue;
            }
            if (!TryReadSensorName(ref reader, out var name, out _))
            {
                var shown = JsonText.Display(ref reader);
                AddError(location, JsonText.Member("units", shown), $"sensor name '{shown}' is not lower snake case");
                reader.Read();
                reader.Skip();
                continue;
            }
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            if (reader.TokenType != JsonTokenType.String || !JsonText.TryGetString(ref reader, 32, out var unit))
            {
                AddError(location, JsonText.Member("units", name),
                    $"expected a unit name (at most 32 characters of UTF-8), got {Describe(ref reader)}");
                reader.Skip();
                continue;
            }
            _units.Add((name, unit));
        }
    }

    /// <summary>Checks "at least one value", converts units and checks catalog ranges.</summary>
    private void FinishValues(SampleLocation location, string parent)
    {
        if (_nonNullEntries == 0)
        {
            AddError(location, parent, "no sensor values; at least one number is required");
        }
        foreach (var (sensor, unit) in _units)
        {
            var index = IndexOfSensor(sensor);
            // A unit for a sensor without a value, or for a custom sensor, has nothing to convert.
            if (index < 0 || _infos[index].Definition is not { } definition)
            {
                continue;
            }
            var original = _values[index].Value;
            if (!UnitConverter.TryConvert(original, unit, definition.Unit, out var converted))
            {
                AddError(location, JsonText.Member("units", sensor),
                    $"unit '{JsonText.Shorten(unit, 32)}' for {sensor} cannot be converted to {definition.Unit}");
                continue;
            }
            _values[index] = new SensorValue(sensor, converted);
            _infos[index] = new ValueInfo(definition, unit, original);
        }
        for (var i = 0; i < _values.Count; i++)
        {
            var (sensor, value) = _values[i];
            if (_infos[i] is { Definition: { } definition } info && !definition.IsInRange(value))
            {
                var given = info.FromUnit is null
                    ? $"{JsonText.Number(value)} {definition.Unit}"
                    : $"{JsonText.Number(info.Original)} {info.FromUnit} ({JsonText.Number(Math.Round(value, 3))} {definition.Unit})";
                AddError(location, JsonText.Member(parent, sensor),
                    $"{sensor} {given} outside {JsonText.Number(definition.Min)}..{JsonText.Number(definition.Max)} {definition.Unit}");
            }
        }
    }

    private string? ReadMachineId(ref Utf8JsonReader reader, SampleLocation location)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            AddError(location, "machineId", $"expected a string, got {Describe(ref reader)}");
            reader.Skip();
            return null;
        }
        if (TryReadId(ref reader, "machine id", out var id) is { } problem)
        {
            AddError(location, "machineId", problem);
            return null;
        }
        return id;
    }

    private DateTimeOffset? ReadTimestamp(ref Utf8JsonReader reader, SampleLocation location, string name, bool allowEpoch)
    {
        DateTimeOffset timestamp;
        if (reader.TokenType == JsonTokenType.String)
        {
            Span<byte> scratch = stackalloc byte[64];
            if (!JsonText.TryGetUnescaped(in reader, scratch, out var text) || !HasUtcOffset(text))
            {
                AddError(location, name,
                    $"'{JsonText.Display(ref reader)}' is not an ISO-8601 date-time with UTC offset (like 2026-11-21T08:15:00.250Z)");
                return null;
            }
            if (!reader.TryGetDateTimeOffset(out timestamp))
            {
                AddError(location, name, $"'{JsonText.Display(ref reader)}' is not a valid ISO-8601 date-time");
                return null;
            }
        }
        else if (allowEpoch && reader.TokenType == JsonTokenType.Number)
        {
            if (!TryGetEpochMilliseconds(ref reader, location, name, out timestamp))
            {
                return null;
            }
        }
        else
        {
            var expected = allowEpoch ? "an ISO-8601 string or unix epoch milliseconds" : "an ISO-8601 string";
            AddError(location, name, $"expected {expected}, got {Describe(ref reader)}");
            reader.Skip();
            return null;
        }

        timestamp = timestamp.ToUniversalTime();
        if (timestamp < TelemetryDecoder.EarliestTimestamp)
        {
            AddError(location, name,
                $"timestamp {TelemetryEncoder.FormatTimestamp(timestamp)} is before {TelemetryEncoder.FormatTimestamp(TelemetryDecoder.EarliestTimestamp)}; is the gateway clock set?");
            return null;
        }
        if (timestamp > _latestTimestamp)
        {
            AddError(location, name,
                $"timestamp {TelemetryEncoder.FormatTimestamp(timestamp)} is {JsonText.Duration(timestamp - context.EnqueuedTime)} after the enqueued time {TelemetryEncoder.FormatTimestamp(context.EnqueuedTime)}; at most {TelemetryDecoder.MaxClockSkew.TotalMinutes} minutes ahead is allowed");
            return null;
        }
        return timestamp;
    }

    private bool TryGetEpochMilliseconds(ref Utf8JsonReader reader, SampleLocation location, string name, out DateTimeOffset timestamp)
    {
        timestamp = default;
        var min = TelemetryDecoder.EarliestTimestamp.ToUnixTimeMilliseconds();
        var max = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();
        if (!reader.TryGetDouble(out var milliseconds) || !double.IsFinite(milliseconds)
            || milliseconds < min || milliseconds > max)
        {
            // Seconds instead of milliseconds is the usual mistake; say so.
            var hint = milliseconds >= min / 1000.0 && milliseconds < min ? " (this looks like seconds)" : "";
            AddError(location, name,
                $"{JsonText.Display(ref reader)} is not unix epoch milliseconds from 2000 on{hint}");
            return false;
        }
        timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(milliseconds));
        return true;
    }

    private long? ReadSequence(ref Utf8JsonReader reader, SampleLocation location)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var sequence) && sequence >= 0)
        {
            return sequence;
        }
        AddError(location, "seq", reader.TokenType == JsonTokenType.Number
            ? $"{JsonText.Display(ref reader)} is not a non-negative integer"
            : $"expected a non-negative integer, got {Describe(ref reader)}");
        reader.Skip();
        return null;
    }

    private void BeginSample()
    {
        _values.Clear();
        _infos.Clear();
        _units.Clear();
        _entries = 0;
        _nonNullEntries = 0;
        _sampleFailed = false;
    }

    private void AddSample(string machineId, DateTimeOffset timestamp, long sequence) =>
        result.Samples.Add(new MachineSample
        {
            MachineId = machineId,
            Timestamp = timestamp.ToUniversalTime(),
            Sequence = sequence,
            Values = _values.ToArray(),
        });

    private int IndexOfSensor(string sensor)
    {
        for (var i = 0; i < _values.Count; i++)
        {
            if (string.Equals(_values[i].Sensor, sensor, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private void AddError(SampleLocation location, string member, string reason)
    {
        _sampleFailed = true;
        var errors = result.Errors;
        if (errors.Count < TelemetryDecoder.MaxErrorsPerMessage)
        {
            errors.Add(new DecodeError(JsonText.Join(location.Path, member), reason));
        }
        else if (errors.Count == TelemetryDecoder.MaxErrorsPerMessage)
        {
            errors.Add(new DecodeError("", $"more than {TelemetryDecoder.MaxErrorsPerMessage} errors; the rest are not listed"));
        }
    }

    private static bool HasUtcOffset(ReadOnlySpan<byte> text) =>
        text.Length > 6 && (text[^1] == 'Z' || (text[^6] is (byte)'+' or (byte)'-' && text[^3] == ':'));

    /// <summary>Reads a sensor name on the reader; catalog names come back as the catalog's own string.</summary>
    private static bool TryReadSensorName(ref Utf8JsonReader reader, out string name, out SensorDefinition? definition)
    {
        name = "";
        definition = null;
        Span<byte> scratch = stackalloc byte[SensorCatalog.MaxNameLength];
        if (!JsonText.TryGetUnescaped(in reader, scratch, out var bytes))
        {
            return false;
        }
        Span<char> chars = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = (char)bytes[i];
        }
        if (!SensorCatalog.IsValidName(chars))
        {
            return false;
        }
        name = SensorCatalog.TryGet(chars, out definition) ? definition.Name : new string(chars);
        return true;
    }

    /// <summary>Reads a machine or gateway id (1..64 of A-Z a-z 0-9 _ . : -); returns the problem or null.</summary>
    private static string? TryReadId(ref Utf8JsonReader reader, string what, out string id)
    {
        id = "";
        Span<byte> scratch = stackalloc byte[TelemetryDecoder.MaxIdLength];
        if (!JsonText.TryGetUnescaped(in reader, scratch, out var bytes))
        {
            return $"{what} '{JsonText.Display(ref reader)}' is longer than {TelemetryDecoder.MaxIdLength} characters";
        }
        Span<char> chars = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = (char)bytes[i];
        }
        if (TryGetIdProblem(chars, what) is { } problem)
        {
            return problem;
        }
        id = new string(chars);
        return null;
    }

    private static string? TryGetIdProblem(ReadOnlySpan<char> id, string what)
    {
        if (id.IsEmpty)
        {
            return $"{what} is empty";
        }
        if (id.Length > TelemetryDecoder.MaxIdLength)
        {
            return $"{what} '{JsonText.Shorten(id.ToString(), 40)}' is longer than {TelemetryDecoder.MaxIdLength} characters";
        }
        for (var i = 0; i < id.Length; i++)
        {
            if (id[i] is not ((>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or ':' or '-'))
            {
                return $"{what} '{JsonText.Shorten(id.ToString(), 40)}' has a character other than A-Z a-z 0-9 _ . : - at position {i}";
            }
        }
        return null;
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"a string \"{JsonText.Display(ref reader)}\"",
        JsonTokenType.Number => $"the number {JsonText.Display(ref reader)}",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => reader.TokenType.ToString(),
    };
}
