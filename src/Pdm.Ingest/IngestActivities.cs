using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Pdm.Ingest;

/// <summary>
/// The <c>Pdm.Ingest</c> activity source: one span per batch (<c>ingest batch</c>, linked to the trace of every
/// message that carried a W3C <c>traceparent</c>), with children <c>ingest decode</c>, <c>ingest store</c> and
/// <c>ingest score</c>. Without a listener (no exporter configured) nothing is created.
/// </summary>
public static class IngestActivities
{
    public const string SourceName = "Pdm.Ingest";

    /// <summary>The IoT Hub application property that carries the sender's W3C trace context.</summary>
    public const string TraceParentProperty = "traceparent";

    public static ActivitySource Source { get; } = new(SourceName);

    internal static Activity? StartBatch(IReadOnlyList<IncomingEvent> events)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        List<ActivityLink>? links = null;
        foreach (var e in events)
        {
            if (e.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context))
            {
                (links ??= []).Add(new ActivityLink(context));
            }
        }
        var activity = Source.StartActivity("ingest batch", ActivityKind.Consumer, parentContext: default, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "eventhubs");
            activity.SetTag("messaging.batch.message_count", events.Count);
            activity.SetTag("pdm.message_ids", events.Select(e => e.MessageId ?? "").ToArray());
            activity.SetTag("pdm.device_ids", events.Select(e => e.DeviceId ?? "").Distinct(StringComparer.Ordinal).ToArray());
            if (events.Count == 1)
            {
                // One message: its id travels as baggage to every child span and outgoing call.
                activity.SetTag("messaging.message.id", events[0].MessageId);
                activity.SetBaggage("pdm.message_id", events[0].MessageId);
            }
        }
        return activity;
    }

    internal static Activity? Start(string name) => Source.StartActivity(name);

    /// <summary>A log scope with the message's id and device (<c>{MessageId}</c>, <c>{DeviceId}</c>) for every line logged about it.</summary>
    internal static IDisposable? BeginMessageScope(this ILogger logger, IncomingEvent e) =>
        logger.BeginScope(new MessageScope(e.MessageId, e.DeviceId));

    private sealed class MessageScope(string? messageId, string? deviceId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("MessageId", messageId),
            1 => new("DeviceId", deviceId),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"MessageId:{messageId} DeviceId:{deviceId}";
    }
}
