using System.Text.Json.Serialization;

namespace Pdm.Ingest;

/// <summary>
/// One event as the hub delivered it: the body and the broker-side facts about it. <see cref="DeviceId"/> is the
/// identity the hub authenticated, the only source of tenancy.
/// </summary>
public sealed record IncomingEvent
{
    /// <summary>The body as text. When the host delivered bytes (<see cref="RawBody"/>), their UTF-8 reading.</summary>
    public required string Body { get; init; }

    /// <summary>
    /// The body's bytes exactly as sent, when the trigger delivers bodies as binary (dataType binary, base64 on the
    /// wire); null when the host delivered text. Kept so a body that is not valid UTF-8 is kept whole when rejected.
    /// </summary>
    // Left out when null: the serializer would otherwise write "" and read it back as an empty body.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public byte[]? RawBody { get; init; }
    public required string? DeviceId { get; init; }
    public string? ModuleId { get; init; }
    public required DateTimeOffset EnqueuedTime { get; init; }
    public long SequenceNumber { get; init; }
    public string? PartitionId { get; init; }
    public string? MessageId { get; init; }

    /// <summary>The sender's W3C trace context (application property <c>traceparent</c>), when it sent one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }
}

/// <summary>What became of one batch.</summary>
public sealed record IngestOutcome
{
    public int Events { get; init; }
    public int Samples { get; init; }
    public long ValuesInserted { get; init; }
    public long ValuesDuplicate { get; init; }
    public int MachinesCreated { get; init; }
    public int RejectedMessages { get; init; }
    public long SamplesScored { get; init; }
    public int Anomalies { get; init; }

    /// <summary>Alert events stored with the readings (every transition, notifying or not).</summary>
    public long AlertEvents { get; init; }

    /// <summary>
    /// Outbox rows stored with the readings: alert events that notify, committed and waiting for the publisher (call
    /// it after this returns when this is above 0).
    /// </summary>
    public long AlertOutbox { get; init; }

    /// <summary>Set when the database could not take the batch and it was parked for replay instead.</summary>
    public string? DeadLetter { get; init; }

    /// <summary>
    /// Set when the batch could not be stored even message by message for a reason that is not an outage; it was
    /// moved to quarantine (kept, logged, counted) instead of being parked, so it cannot block the replay.
    /// </summary>
    public string? Quarantined { get; init; }

    internal IngestOutcome Add(IngestOutcome other) => this with
    {
        Events = Events + other.Events,
        Samples = Samples + other.Samples,
        ValuesInserted = ValuesInserted + other.ValuesInserted,
        ValuesDuplicate = ValuesDuplicate + other.ValuesDuplicate,
        MachinesCreated = MachinesCreated + other.MachinesCreated,
        RejectedMessages = RejectedMessages + other.RejectedMessages,
        SamplesScored = SamplesScored + other.SamplesScored,
        Anomalies = Anomalies + other.Anomalies,
        AlertEvents = AlertEvents + other.AlertEvents,
        AlertOutbox = AlertOutbox + other.AlertOutbox,
    };
}
