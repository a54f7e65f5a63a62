using Pdm.Telemetry;

namespace Pdm.Edge;

/// <summary>Values one source read from one machine at one moment; the pipeline gives it a sequence number.</summary>
public sealed record SourceReading(string MachineId, DateTimeOffset Timestamp, IReadOnlyList<SensorValue> Values);

/// <summary>Where sources hand their readings; the pipeline's store-and-forward queue behind it.</summary>
public interface IReadingSink
{
    /// <summary>Accepts a reading; returns once it is durably queued.</summary>
    ValueTask WriteAsync(SourceReading reading, CancellationToken cancellationToken);
}

/// <summary>Connection state of a source, as reported to the cloud (module twin reported properties).</summary>
public enum SourceState
{
    Starting,
    Connected,
    /// <summary>Not answering; retried with backoff.</summary>
    Failing,
    Stopped,
}

/// <summary>What an operator needs to see about one source: is it working, when did it last read, what went wrong.</summary>
public sealed record SourceStatus
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required SourceState State { get; init; }
    public DateTimeOffset? LastRead { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset? LastErrorAt { get; init; }
    public long Reads { get; init; }
    public long Errors { get; init; }
}

/// <summary>
/// A telemetry source (a Modbus device, a plant MQTT broker, an HTTP endpoint). Runs until cancelled, retrying on its
/// own with backoff; never throws for a failing peer, it reports it in <see cref="Status"/>.
/// </summary>
public interface ISource
{
    string Name { get; }

    SourceStatus Status { get; }

    Task RunAsync(IReadingSink sink, CancellationToken cancellationToken);
}
