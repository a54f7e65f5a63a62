namespace Pdm.Edge.Queue;

/// <summary>A record read from the <see cref="DiskQueue"/>.</summary>
public sealed record QueueRecord
{
    /// <summary>Position in the queue: increases with every record; pass it to <see cref="DiskQueue.Acknowledge"/>.</summary>
    public required long Id { get; init; }

    /// <summary>The stream (machine id) the record belongs to.</summary>
    public required string Stream { get; init; }

    /// <summary>1, 2, 3... per stream, across restarts, so the cloud can spot gaps and drop duplicates.</summary>
    public required long Sequence { get; init; }

    public required DateTimeOffset EnqueuedAt { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }
}

/// <summary>What the queue holds and what it has done since it was opened, for status reporting.</summary>
public sealed record DiskQueueStats
{
    /// <summary>Records waiting for acknowledgement.</summary>
    public required long Count { get; init; }

    /// <summary>Bytes those records take on disk, headers included; at most <see cref="DiskQueueOptions.MaxBytes"/>.</summary>
    public required long Bytes { get; init; }

    public required long Enqueued { get; init; }

    public required long Acknowledged { get; init; }

    /// <summary>Records dropped unsent because the queue was full (since it was opened).</summary>
    public required long DroppedRecords { get; init; }

    public required long DroppedBytes { get; init; }

    /// <summary>When the oldest waiting record was enqueued; null when the queue is empty.</summary>
    public DateTimeOffset? OldestEnqueuedAt { get; init; }
}
