using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pdm.Edge.Queue;

namespace Pdm.Edge;

/// <summary>
/// The module's <c>Pdm.Edge</c> meter and activity source: source reads and failures, the store-and-forward
/// queue's depth, messages sent and the time from PUBLISH to the broker's PUBACK, and a <c>edge publish</c> span per
/// message whose context travels with it to the cloud (application property <c>traceparent</c>). Counting costs
/// next to nothing while no listener is attached.
/// </summary>
public static class EdgeTelemetry
{
    public const string Name = "Pdm.Edge";

    private static readonly Meter Meter = new(Name);
    private static readonly ConcurrentDictionary<DiskQueue, byte> Queues = new();

    private static readonly Counter<long> Reads = Meter.CreateCounter<long>("pdm.edge.polls", "{poll}",
        "Reads of a source that gave a reading (a Modbus poll, an MQTT or HTTP payload, an OPC message); tag pdm.source.kind");
    private static readonly Counter<long> ReadFailures = Meter.CreateCounter<long>("pdm.edge.poll.failures", "{failure}",
        "Reads that failed (device unreachable, bad payload); tag pdm.source.kind");
    private static readonly Counter<long> Sent = Meter.CreateCounter<long>("pdm.edge.messages.sent", "{message}",
        "Telemetry messages the broker acknowledged");
    private static readonly Counter<long> SendFailures = Meter.CreateCounter<long>("pdm.edge.messages.failed", "{message}",
        "Publishes that failed and will be retried");
    private static readonly Histogram<double> SendLatency = Meter.CreateHistogram<double>("pdm.edge.send.duration", "s",
        "Time from publishing a telemetry message to the broker's acknowledgement");

    static EdgeTelemetry()
    {
        Meter.CreateObservableGauge("pdm.edge.queue.depth", () => Queues.Keys.Select(q => new Measurement<long>(q.GetStats().Count)),
            "{record}", "Readings waiting in the store-and-forward queue");
        Meter.CreateObservableGauge("pdm.edge.queue.bytes", () => Queues.Keys.Select(q => new Measurement<long>(q.GetStats().Bytes)),
            "By", "Bytes the waiting readings take on disk");
    }

    public static ActivitySource Source { get; } = new(Name);

    /// <summary>Reports <paramref name="queue"/>'s depth until the returned handle is disposed.</summary>
    internal static IDisposable ObserveQueue(DiskQueue queue)
    {
        Queues[queue] = 0;
        return new Unobserve(queue);
    }

    internal static void SourceRead(string kind) => Reads.Add(1, new KeyValuePair<string, object?>("pdm.source.kind", kind));

    internal static void SourceFailed(string kind) => ReadFailures.Add(1, new KeyValuePair<string, object?>("pdm.source.kind", kind));

    internal static void MessageSent(TimeSpan latency)
    {
        Sent.Add(1);
        SendLatency.Record(latency.TotalSeconds);
    }

    internal static void MessageFailed() => SendFailures.Add(1);

    private sealed class Unobserve(DiskQueue queue) : IDisposable
    {
        public void Dispose() => Queues.TryRemove(queue, out _);
    }
}
