using System.Globalization;
using System.Text.Json;

namespace Pdm.Telemetry.OpcPublisher;

/// <summary>Walks one parsed OPC Publisher body and fills an <see cref="OpcDecodeResult"/>.</summary>
internal sealed class OpcMessageWalker(OpcDecodeResult result)
{
    /// <summary>OPC UA built-in type id of StatusCode: a Variant field of this type is a bad value in PubSub.</summary>
    private const int StatusCodeTypeId = 19;

    /// <summary>What a field inherits from the messages around it.</summary>
    private readonly record struct Source(
        string? PublisherId,
        string? EndpointUrl,
        string? ApplicationUri,
        string? WriterGroup,
        string? WriterId,
        string? WriterName,
        string? NodeId,
        DateTimeOffset? Timestamp)
    {
        public string? Writer => WriterName ?? WriterId;
    }

    public void Walk(JsonElement root)
    {
        switch (root.ValueKind)
        {
            case JsonValueKind.Object:
                WalkMessage(root, "");
                break;
            case JsonValueKind.Array:
                // Batching: compatibility mode sends an array of network messages, Samples mode an array of samples.
                var index = 0;
                foreach (var element in root.EnumerateArray())
                {
                    var path = $"[{index++}]";
                    if (element.ValueKind == JsonValueKind.Object)
                    {
                        WalkMessage(element, path);
                    }
                    else
                    {
                        Error(path, $"expected a message object, got {Describe(element)}");
                    }
                }
                break;
            default:
                Error("", $"expected a JSON object or an array of messages, got {Describe(root)}");
                break;
        }
    }

    private void WalkMessage(JsonElement message, string path)
    {
        var type = ReadString(message, "MessageType", path);
        if (type == "ua-metadata")
        {
            WalkMetadata(message, path);
        }
        else if (type == "ua-data" || (type is null && message.TryGetProperty("Messages", out _)))
        {
            WalkNetworkMessage(message, path);
        }
        else if (type is "ua-keyframe" or "ua-deltaframe" or "ua-keepalive" or "ua-event" or "ua-condition"
                 || (type is null && message.TryGetProperty("Payload", out _)))
        {
            // --mm=DataSetMessages sends data set messages without the network message around them.
            WalkDataSetMessage(message, path, default, type);
        }
        else if (type is null && (message.TryGetProperty("NodeId", out _) || message.TryGetProperty("Value", out _)))
        {
            WalkSample(message, path);
        }
        else if (type is not null)
        {
            Error(JsonText.Member(path, "MessageType"), $"unknown message type '{JsonText.Shorten(type, 40)}'");
        }
        else
        {
            Error(path, "not an OPC Publisher message: expected 'Messages' (network message), 'Payload' (data set message) or 'NodeId' and 'Value' (Samples mode)");
        }
    }

    private void WalkMetadata(JsonElement message, string path)
    {
        result.MetadataMessages++;
        var metadataPath = JsonText.Member(path, "MetaData");
        if (!message.TryGetProperty("MetaData", out var metadata) || metadata.ValueKind != JsonValueKind.Object)
        {
            Error(metadataPath, "missing or not an object; a ua-metadata message describes its data set here");
            return;
        }
        var fields = new List<string>();
        if (metadata.TryGetProperty("Fields", out var fieldsElement) && fieldsElement.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var field in fieldsElement.EnumerateArray())
            {
                var fieldPath = $"{JsonText.Member(metadataPath, "Fields")}[{index++}]";
                if (field.ValueKind == JsonValueKind.Object && ReadString(field, "Name", fieldPath) is { } name)
                {
                    fields.Add(name);
                }
            }
        }
        result.DataSets.Add(new OpcDataSetMetadata
        {
            PublisherId = ReadId(message, "PublisherId", path),
            DataSetWriterId = ReadId(message, "DataSetWriterId", path),
            DataSetWriterName = ReadString(message, "DataSetWriterName", path),
            DataSetName = ReadString(metadata, "Name", metadataPath),
            Fields = fields,
        });
    }

    private void WalkNetworkMessage(JsonElement message, string path)
    {
        result.NetworkMessages++;
        var source = new Source(
            PublisherId: ReadId(message, "PublisherId", path),
            EndpointUrl: null,
            ApplicationUri: null,
            WriterGroup: ReadString(message, "DataSetWriterGroup", path),
            WriterId: null,
            WriterName: null,
            NodeId: null,
            Timestamp: ReadMessageTimestamp(message, path));
        var messagesPath = JsonText.Member(path, "Messages");
        if (!message.TryGetProperty("Messages", out var messages))
        {
            Error(messagesPath, "missing; a ua-data network message carries its data set messages here");
            return;
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            Error(messagesPath, $"expected an array of data set messages, got {Describe(messages)}");
            return;
        }
        var index = 0;
        foreach (var dataSetMessage in messages.EnumerateArray())
        {
            var itemPath = $"{messagesPath}[{index++}]";
            if (dataSetMessage.ValueKind != JsonValueKind.Object)
            {
                Error(itemPath, $"expected a data set message object, got {Describe(dataSetMessage)}");
                continue;
            }
            WalkDataSetMessage(dataSetMessage, itemPath, source, ReadString(dataSetMessage, "MessageType", itemPath));
        }
    }

    private void WalkDataSetMessage(JsonElement message, string path, Source network, string? type)
    {
        switch (type)
        {
            // Part 14: without a MessageType the data set message is a key frame.
            case null or "ua-keyframe" or "ua-deltaframe":
                break;
            case "ua-keepalive":
                result.KeepAliveMessages++;
                return;
            case "ua-event" or "ua-condition":
                result.EventMessages++;
                return;
            default:
                Error(JsonText.Member(path, "MessageType"), $"unknown data set message type '{JsonText.Shorten(type, 40)}'");
                return;
        }
        result.DataSetMessages++;
        var source = network with
        {
            PublisherId = ReadId(message, "PublisherId", path) ?? network.PublisherId,
            WriterId = ReadId(message, "DataSetWriterId", path),
            WriterName = ReadString(message, "DataSetWriterName", path),
            Timestamp = ReadMessageTimestamp(message, path) ?? network.Timestamp,
        };
        var payloadPath = JsonText.Member(path, "Payload");
        if (!message.TryGetProperty("Payload", out var payload))
        {
            Error(payloadPath, "missing; a key or delta frame carries its fields here");
            return;
        }
        if (payload.ValueKind != JsonValueKind.Object)
        {
            Error(payloadPath, $"expected an object of fields, got {Describe(payload)}");
            return;
        }
        foreach (var field in payload.EnumerateObject())
        {
            WalkField(field.Value, JsonText.Member(payloadPath, field.Name), field.Name, source);
        }
    }

    private void WalkSample(JsonElement message, string path)
    {
        result.SampleMessages++;
        string? publisherId = null, writerId = null;
        if (message.TryGetProperty("ExtensionFields", out var extensions) && extensions.ValueKind == JsonValueKind.Object)
        {
            var extensionsPath = JsonText.Member(path, "ExtensionFields");
            publisherId = ReadId(extensions, "PublisherId", extensionsPath);
            writerId = ReadId(extensions, "DataSetWriterId", extensionsPath);
        }
        var nodeId = ReadString(message, "NodeId", path);
        var field = ReadString(message, "DisplayName", path) ?? nodeId;
        if (field is null)
        {
            Error(path, "Samples message has neither DisplayName nor NodeId, so its value cannot be named");
            return;
        }
        var source = new Source(
            PublisherId: publisherId,
            EndpointUrl: ReadString(message, "EndpointUrl", path),
            ApplicationUri: ReadString(message, "ApplicationUri", path),
            WriterGroup: null,
            WriterId: writerId,
            WriterName: null,
            NodeId: nodeId,
            Timestamp: ReadMessageTimestamp(message, path));
        var valuePath = JsonText.Member(path, "Value");
        if (!message.TryGetProperty("Value", out var value))
        {
            Error(valuePath, "missing; a Samples message carries its data value here");
            return;
        }
        WalkField(value, valuePath, field, source);
    }

    /// <summary>
    /// One field: a DataValue (<c>{"Value": .., "StatusCode": .., "SourceTimestamp": ..}</c>, with 1.05's
    /// <c>UaType</c> beside them), a reversible Variant (<c>{"Type": 11, "Body": 1.5}</c>), or a plain JSON value.
    /// </summary>
    private void WalkField(JsonElement element, string path, string field, Source source)
    {
        uint status = 0;
        string? symbol = null;
        DateTimeOffset? sourceTimestamp = null;
        var value = element;
        var hasValue = true;
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (TryGetVariant(element, out var body, out var isStatusCode))
            {
                value = body;
                if (isStatusCode && !TryReadStatusValue(body, ref status, ref hasValue))
                {
                    Error(JsonText.Member(path, "Body"), $"expected a status code number, got {Describe(body)}");
                    return;
                }
            }
            else if (IsDataValue(element))
            {
                if (element.TryGetProperty("StatusCode", out var statusElement)
                    && !TryReadStatus(statusElement, out status, out symbol))
                {
                    Error(JsonText.Member(path, "StatusCode"), $"expected a status code number or {{\"Code\", \"Symbol\"}} object, got {Describe(statusElement)}");
                    return;
                }
                if (element.TryGetProperty("SourceTimestamp", out var timestampElement)
                    && !TryReadTimestamp(timestampElement, out sourceTimestamp))
                {
                    Skip(path, OpcSkipReason.InvalidTimestamp, $"SourceTimestamp is not an ISO 8601 date-time: {Describe(timestampElement)}", field, source, status);
                    return;
                }
                hasValue = element.TryGetProperty("Value", out value);
                if (hasValue && value.ValueKind == JsonValueKind.Object && TryGetVariant(value, out body, out isStatusCode))
                {
                    value = body;
                    if (isStatusCode && !TryReadStatusValue(body, ref status, ref hasValue))
                    {
                        Error(JsonText.Join(JsonText.Member(path, "Value"), "Body"), $"expected a status code number, got {Describe(body)}");
                        return;
                    }
                }
                else if (IsStatusCodeType(element, "UaType") && hasValue && !TryReadStatusValue(value, ref status, ref hasValue))
                {
                    Error(JsonText.Member(path, "Value"), $"expected a status code number, got {Describe(value)}");
                    return;
                }
            }
        }
        if (OpcStatus.IsBad(status))
        {
            Skip(path, OpcSkipReason.BadStatus, "bad status " + OpcStatus.Describe(status, symbol), field, source, status);
            return;
        }
        if (!hasValue || value.ValueKind == JsonValueKind.Null)
        {
            Skip(path, OpcSkipReason.NoValue, "no value", field, source, status);
            return;
        }
        if (!TryGetNumber(value, out var number, out var why))
        {
            Skip(path, OpcSkipReason.NotNumeric, why, field, source, status);
            return;
        }
        result.Values.Add(new OpcValue
        {
            PublisherId = source.PublisherId,
            EndpointUrl = source.EndpointUrl,
            ApplicationUri = source.ApplicationUri,
            WriterGroup = source.WriterGroup,
            DataSetWriterId = source.WriterId,
            DataSetWriterName = source.WriterName,
            Field = field,
            NodeId = source.NodeId,
            Value = number,
            StatusCode = status,
            SourceTimestamp = sourceTimestamp,
            Timestamp = sourceTimestamp ?? source.Timestamp,
        });
    }

    private static bool IsDataValue(JsonElement element) =>
        element.TryGetProperty("Value", out _)
        || element.TryGetProperty("StatusCode", out _)
        || element.TryGetProperty("SourceTimestamp", out _)
        || element.TryGetProperty("ServerTimestamp", out _)
        || element.TryGetProperty("UaType", out _);

    /// <summary>A Part 6 (1.04) reversible Variant: <c>Type</c> is a built-in type id, or its name in Microsoft's encoding.</summary>
    private static bool TryGetVariant(JsonElement element, out JsonElement body, out bool isStatusCode)
    {
        isStatusCode = false;
        if (!element.TryGetProperty("Type", out _) || !element.TryGetProperty("Body", out body))
        {
            body = default;
            return false;
        }
        isStatusCode = IsStatusCodeType(element, "Type");
        return true;
    }

    private static bool IsStatusCodeType(JsonElement element, string property) =>
        element.TryGetProperty(property, out var type)
        && (type.ValueKind == JsonValueKind.Number ? type.TryGetInt32(out var id) && id == StatusCodeTypeId
            : type.ValueKind == JsonValueKind.String && type.ValueEquals("StatusCode"));

    /// <summary>A Variant holding a StatusCode stands for the field's status; it has no value of its own.</summary>
    private static bool TryReadStatusValue(JsonElement body, ref uint status, ref bool hasValue)
    {
        if (!TryReadStatus(body, out var code, out _))
        {
            return false;
        }
        status = code;
        hasValue = false;
        return true;
    }

    /// <summary>A status code as a number (strict and reversible forms) or as <c>{"Code", "Symbol"}</c>; no Code means Good.</summary>
    private static bool TryReadStatus(JsonElement element, out uint code, out string? symbol)
    {
        code = 0;
        symbol = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.TryGetUInt32(out code);
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.Object:
                if (element.TryGetProperty("Symbol", out var symbolElement) && symbolElement.ValueKind == JsonValueKind.String)
                {
                    symbol = symbolElement.GetString();
                }
                if (!element.TryGetProperty("Code", out var codeElement))
                {
                    return true;
                }
                return codeElement.ValueKind == JsonValueKind.Number && codeElement.TryGetUInt32(out code);
            default:
                return false;
        }
    }

    private static bool TryReadTimestamp(JsonElement element, out DateTimeOffset? timestamp)
    {
        timestamp = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String || !element.TryGetDateTimeOffset(out var parsed))
        {
            return false;
        }
        // OPC UA writes DateTime.MinValue for "no timestamp".
        timestamp = parsed.UtcDateTime == DateTime.MinValue ? null : parsed;
        return true;
    }

    private static bool TryGetNumber(JsonElement value, out double number, out string why)
    {
        number = 0;
        why = "";
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (value.TryGetDouble(out number) && double.IsFinite(number))
                {
                    return true;
                }
                why = "number is out of range";
                return false;
            case JsonValueKind.True:
                number = 1;
                return true;
            case JsonValueKind.False:
                number = 0;
                return true;
            case JsonValueKind.String:
                // Part 6 encodes Int64 and UInt64 as decimal strings, and NaN and infinities as "NaN", "Infinity".
                var text = value.GetString()!;
                if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                        CultureInfo.InvariantCulture, out number))
                {
                    if (double.IsFinite(number))
                    {
                        return true;
                    }
                    why = $"value is '{text}', not a finite number";
                    return false;
                }
                why = "value is a string";
                return false;
            case JsonValueKind.Array:
                why = "value is an array";
                return false;
            default:
                why = "value is an object (a structure or an event), not a number";
                return false;
        }
    }

    /// <summary>A string property; a present property of another kind is an error and reads as null.</summary>
    private string? ReadString(JsonElement message, string name, string path)
    {
        if (!message.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString();
        }
        Error(JsonText.Member(path, name), $"expected a string, got {Describe(element)}");
        return null;
    }

    /// <summary>An identifier that is a string in compatibility mode and an integer in strict mode, as text.</summary>
    private string? ReadId(JsonElement message, string name, string path)
    {
        if (!message.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number when element.TryGetUInt64(out var id):
                return id.ToString(CultureInfo.InvariantCulture);
            default:
                Error(JsonText.Member(path, name), $"expected a string or a non-negative integer, got {Describe(element)}");
                return null;
        }
    }

    private DateTimeOffset? ReadMessageTimestamp(JsonElement message, string path)
    {
        if (!message.TryGetProperty("Timestamp", out var element))
        {
            return null;
        }
        if (TryReadTimestamp(element, out var timestamp))
        {
            return timestamp;
        }
        Error(JsonText.Member(path, "Timestamp"), $"expected an ISO 8601 date-time, got {Describe(element)}");
        return null;
    }

    private void Skip(string path, OpcSkipReason reason, string detail, string field, Source source, uint status) =>
        result.Skipped.Add(new OpcSkippedValue
        {
            Path = path,
            Reason = reason,
            Detail = detail,
            DataSetWriter = source.Writer,
            Field = field,
            StatusCode = status,
        });

    private void Error(string path, string reason) => result.Errors.Add(new DecodeError(path, reason));

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"\"{JsonText.Shorten(element.GetString()!, 40)}\"",
        JsonValueKind.Number => "the number " + JsonText.Shorten(element.GetRawText(), 40),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };
}
