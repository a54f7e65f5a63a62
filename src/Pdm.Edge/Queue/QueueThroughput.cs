using System.Diagnostics;
using System.Globalization;

namespace Pdm.Edge.Queue;

/// <summary>Throughput of a <see cref="DiskQueue"/> on this machine's disk, in messages per second.</summary>
public sealed record QueueThroughputResult
{
    public required int Messages { get; init; }

    public required int PayloadBytes { get; init; }

    /// <summary>Records read and acknowledged per <see cref="DiskQueue.Acknowledge"/> call in the dequeue phase.</summary>
    public required int AcknowledgeBatch { get; init; }

    public required double EnqueuePerSecond { get; init; }

    public required double DequeueAcknowledgePerSecond { get; init; }
}

public static class QueueThroughput
{
    private const int Streams = 16;
    private const int Batch = 256;

    /// <summary>
    /// Enqueues <paramref name="messages"/> payloads (spread over 16 streams, one thread), then peeks and acknowledges
    /// them in batches of 256, timing each phase. Works in a new folder under <paramref name="directory"/> and
    /// deletes it afterwards.
    /// </summary>
    public static QueueThroughputResult Measure(string directory, int messages, int payloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messages);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadBytes);
        var folder = Path.Combine(directory, "queue-bench-" + Guid.NewGuid().ToString("N"));
        var payload = new byte[payloadBytes];
        Random.Shared.NextBytes(payload);
        var streams = Enumerable.Range(1, Streams).Select(i => "machine-" + i.ToString("D2", CultureInfo.InvariantCulture)).ToArray();
        var options = new DiskQueueOptions
        {
            Directory = folder,
            SegmentBytes = 16L << 20,
            MaxBytes = Math.Max(1L << 30, 2L * messages * RecordFormat.SizeOf(16, payloadBytes)),
        };
        try
        {
            using var queue = DiskQueue.Open(options);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < messages; i++)
            {
                queue.Enqueue(streams[i % Streams], payload);
            }

            var enqueue = clock.Elapsed;
            var batch = new List<QueueRecord>(Batch);
            clock.Restart();
            while (queue.Peek(Batch, batch) > 0)
            {
                queue.Acknowledge(batch[^1].Id);
                batch.Clear();
            }

            var dequeue = clock.Elapsed;
            return new QueueThroughputResult
            {
                Messages = messages,
                PayloadBytes = payloadBytes,
                AcknowledgeBatch = Batch,
                EnqueuePerSecond = messages / enqueue.TotalSeconds,
                DequeueAcknowledgePerSecond = messages / dequeue.TotalSeconds,
            };
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
