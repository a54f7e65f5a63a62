namespace Pdm.Telemetry.OpcPublisher;

/// <summary>
/// One numeric value OPC Publisher reported for one field of a data set (PubSub) or one monitored node (Samples mode),
/// with what a mapping needs to find its machine (<see cref="DataSetWriter"/>, <see cref="PublisherId"/>,
/// <see cref="EndpointUrl"/>) and its sensor (<see cref="Field"/>, <see cref="NodeId"/>).
/// </summary>
public sealed record OpcValue
{
    /// <summary>The network message's <c>PublisherId</c>, or <c>ExtensionFields.PublisherId</c> in Samples mode.</summary>
    public string? PublisherId { get; init; }

    /// <summary>The OPC UA server endpoint; only Samples messages carry it.</summary>
    public string? EndpointUrl { get; init; }

    public string? ApplicationUri { get; init; }

    /// <summary>The network message's <c>DataSetWriterGroup</c>, when it has one.</summary>
    public string? WriterGroup { get; init; }

    /// <summary>
    /// <c>DataSetWriterId</c> as text: the writer name in compatibility mode, an integer such as <c>"1"</c> in strict
    /// mode, <c>ExtensionFields.DataSetWriterId</c> in Samples mode.
    /// </summary>
    public string? DataSetWriterId { get; init; }

    /// <summary><c>DataSetWriterName</c>; strict mode sends it next to the integer id.</summary>
    public string? DataSetWriterName { get; init; }

    /// <summary>
    /// The payload field name (the node's DisplayName or DataSetFieldId from published_nodes.json); in Samples mode
    /// the DisplayName, or the NodeId when the message has no DisplayName.
    /// </summary>
    public required string Field { get; init; }

    /// <summary>The monitored node; only Samples messages carry it.</summary>
    public string? NodeId { get; init; }

    /// <summary>The value as a double; booleans are 1 and 0, 64-bit integers sent as JSON strings are parsed.</summary>
    public required double Value { get; init; }

    /// <summary>The OPC UA status code: 0 is Good. Uncertain values are kept with their code; Bad ones are skipped.</summary>
    public uint StatusCode { get; init; }

    /// <summary>When the server (or device) sampled the value, if the message said.</summary>
    public DateTimeOffset? SourceTimestamp { get; init; }

    /// <summary>
    /// <see cref="SourceTimestamp"/>, else the data set message's <c>Timestamp</c>, else the network (or Samples)
    /// message's; null when the message has none, and the caller uses the time it received the message.
    /// </summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>The writer to map to a machine: <see cref="DataSetWriterName"/>, else <see cref="DataSetWriterId"/>.</summary>
    public string? DataSetWriter => DataSetWriterName ?? DataSetWriterId;

    /// <summary>Uncertain quality: usable, but the server doubts it (for example a last usable value).</summary>
    public bool IsUncertain => OpcStatus.IsUncertain(StatusCode);
}

/// <summary>Why a field carried no usable number.</summary>
public enum OpcSkipReason
{
    /// <summary>The value's status code is Bad (for example BadNoCommunication).</summary>
    BadStatus,
    /// <summary>A string, structure, array or non-finite number.</summary>
    NotNumeric,
    /// <summary>A field or Samples message with a good status but no value.</summary>
    NoValue,
    /// <summary>The value's <c>SourceTimestamp</c> is not an ISO 8601 date-time.</summary>
    InvalidTimestamp,
}

/// <summary>A field that was recognised but gave no value: <see cref="Path"/> says where, <see cref="Detail"/> why.</summary>
public sealed record OpcSkippedValue
{
    /// <summary>JSON path of the field, for example <c>Messages[3].Payload.Temperature</c>.</summary>
    public required string Path { get; init; }

    public required OpcSkipReason Reason { get; init; }

    public required string Detail { get; init; }

    public string? DataSetWriter { get; init; }

    public required string Field { get; init; }

    /// <summary>The status code the field carried; 0 when it had none.</summary>
    public uint StatusCode { get; init; }

    public override string ToString() => $"{Path}: {Detail}";
}

/// <summary>
/// What a <c>ua-metadata</c> message says about one writer's data set. Data messages do not repeat the data set's
/// name, so a mapping that selects by <see cref="DataSetName"/> learns the writer's name from here.
/// </summary>
public sealed record OpcDataSetMetadata
{
    public string? PublisherId { get; init; }

    public string? DataSetWriterId { get; init; }

    public string? DataSetWriterName { get; init; }

    /// <summary><c>MetaData.Name</c>, when the publisher sends one.</summary>
    public string? DataSetName { get; init; }

    /// <summary>The <c>Name</c> of each field, in data set order.</summary>
    public required IReadOnlyList<string> Fields { get; init; }

    public string? DataSetWriter => DataSetWriterName ?? DataSetWriterId;
}

/// <summary>
/// The outcome of decoding one OPC Publisher message body: the numeric values, the fields skipped with a reason, the
/// problems that made (part of) the message unreadable, and how many messages of each kind it held.
/// </summary>
public sealed class OpcDecodeResult
{
    public List<OpcValue> Values { get; } = [];

    public List<OpcSkippedValue> Skipped { get; } = [];

    /// <summary>One entry per <c>ua-metadata</c> message.</summary>
    public List<OpcDataSetMetadata> DataSets { get; } = [];

    /// <summary>Malformed JSON or message structure, each with the JSON path of the offending part.</summary>
    public List<DecodeError> Errors { get; } = [];

    /// <summary>PubSub <c>ua-data</c> network messages.</summary>
    public int NetworkMessages { get; internal set; }

    /// <summary>Key and delta frames: data set messages that carry values.</summary>
    public int DataSetMessages { get; internal set; }

    /// <summary>Samples-mode (legacy) messages.</summary>
    public int SampleMessages { get; internal set; }

    public int KeepAliveMessages { get; internal set; }

    /// <summary><c>ua-metadata</c> messages; they describe data sets and carry no values.</summary>
    public int MetadataMessages { get; internal set; }

    /// <summary>Event and condition data set messages; they are not sensor readings and yield no values.</summary>
    public int EventMessages { get; internal set; }

    public bool IsClean => Errors.Count == 0;
}
