namespace Pdm.Ingest;

/// <summary>
/// One event as the hub delivered it: the body and the broker-side facts about it. <see cref="DeviceId"/> is the
/// identity the hub authenticated, the only source of tenancy.
/// </summary>
public sealed record IncomingEvent
{
    public required string Body { get; init; }
    public required string? DeviceId { get; init; }
    public string? ModuleId { get; init; }
    public required DateTimeOffset EnqueuedTime { get; init; }
    public long SequenceNumber { get; init; }
    public string? PartitionId { get; init; }
    public string? MessageId { get; init; }
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
    /// <summary>Set when the database could not take the batch and it was parked for replay instead.</summary>
    public string? DeadLetter { get; init; }
}
