using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pdm.DevHost;

/// <summary>
/// The dev host's <c>Pdm.DevHost</c> meter and activity source: device events received, delivered and dropped,
/// invocations by outcome, retries, handler restarts and poisoned queue messages, and one <c>devhost invoke</c> span per invocation (the
/// handler's request span is its child, through the <c>traceparent</c> header HttpClient adds).
/// </summary>
public static class DevHostTelemetry
{
    public const string Name = "Pdm.DevHost";

    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> Received = Meter.CreateCounter<long>("pdm.devhost.events.received", "{event}",
        "Device events taken from the broker");
    private static readonly Counter<long> Delivered = Meter.CreateCounter<long>("pdm.devhost.events.delivered", "{event}",
        "Events in batches the handler accepted");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("pdm.devhost.events.dropped", "{event}",
        "Events in batches that still failed after the retry policy");
    private static readonly Counter<long> Invocations = Meter.CreateCounter<long>("pdm.devhost.invocations", "{invocation}",
        "Invocation attempts posted to the handler; tag outcome: succeeded or failed");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("pdm.devhost.retries", "{retry}",
        "Failed invocations retried under the function's retry policy");
    private static readonly Counter<long> Restarts = Meter.CreateCounter<long>("pdm.devhost.handler.restarts", "{restart}",
        "Times the handler process exited and was started again");

    private static readonly Counter<long> Poisoned = Meter.CreateCounter<long>("pdm.devhost.queue.poisoned", "{message}",
        "Queue messages moved to their -poison queue");

    public static ActivitySource Source { get; } = new(Name);

    internal static void EventReceived() => Received.Add(1);

    internal static void EventsDelivered(int count) => Delivered.Add(count);

    internal static void EventsDropped(int count) => Dropped.Add(count);

    internal static void Invoked(bool succeeded) =>
        Invocations.Add(1, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));

    internal static void Retried() => Retries.Add(1);

    internal static void HandlerRestarted() => Restarts.Add(1);

    internal static void QueueMessagePoisoned() => Poisoned.Add(1);
}
