using Pdm.Mqtt;

namespace Pdm.DevHost;

/// <summary>A snapshot of the dev host's counters, for progress displays.</summary>
public sealed record DevHostStats
{
    public required long EventsReceived { get; init; }
    /// <summary>Events in batches the handler accepted (2xx).</summary>
    public required long EventsDelivered { get; init; }
    /// <summary>Events in batches that still failed after the retry policy (checkpointed past, as Event Hubs does).</summary>
    public required long EventsDropped { get; init; }
    public required long InvocationsSucceeded { get; init; }
    /// <summary>Failed attempts, retries included.</summary>
    public required long InvocationsFailed { get; init; }
    public required long BatchesDropped { get; init; }
    public required long HandlerRestarts { get; init; }

    /// <summary>
    /// The dev host's session on the broker, where device telemetry comes from: Connected, or Refused / Disconnected
    /// with the reason (a refused session receives nothing, so the dev host is not healthy while it lasts). Null when
    /// no broker is configured.
    /// </summary>
    public MqttConnectionState? Broker { get; init; }

    /// <summary>Times the broker session dropped or was refused after it had been connected.</summary>
    public long BrokerConnectionLosses { get; init; }

    /// <summary>Queue trigger invocations (one per delivery of a message; also in <see cref="InvocationsSucceeded"/>/<see cref="InvocationsFailed"/>).</summary>
    public long QueueInvocations { get; init; }

    /// <summary>Queue trigger invocations that failed; the message is delivered again or moved to the poison queue.</summary>
    public long QueueInvocationsFailed { get; init; }

    /// <summary>Messages moved to a <c>-poison</c> queue (failed maxDequeueCount times, or not decodable).</summary>
    public long QueueMessagesPoisoned { get; init; }
}

/// <summary>The live counters behind <see cref="DevHostStats"/>; updated from many tasks.</summary>
internal sealed class DevHostCounters
{
    private long _eventsReceived;
    private long _eventsDelivered;
    private long _eventsDropped;
    private long _invocationsSucceeded;
    private long _invocationsFailed;
    private long _batchesDropped;
    private long _handlerRestarts;
    private long _brokerConnectionLosses;
    private long _queueInvocations;
    private long _queueInvocationsFailed;
    private long _queueMessagesPoisoned;
    private MqttConnectionState? _broker;

    public void EventReceived()
    {
        Interlocked.Increment(ref _eventsReceived);
        DevHostTelemetry.EventReceived();
    }

    public void EventsDelivered(int count)
    {
        Interlocked.Add(ref _eventsDelivered, count);
        DevHostTelemetry.EventsDelivered(count);
    }

    public void BatchDropped(int events)
    {
        Interlocked.Increment(ref _batchesDropped);
        Interlocked.Add(ref _eventsDropped, events);
        DevHostTelemetry.EventsDropped(events);
    }

    public void InvocationSucceeded()
    {
        Interlocked.Increment(ref _invocationsSucceeded);
        DevHostTelemetry.Invoked(succeeded: true);
    }

    public void InvocationFailed()
    {
        Interlocked.Increment(ref _invocationsFailed);
        DevHostTelemetry.Invoked(succeeded: false);
    }

    public void HandlerRestarted()
    {
        Interlocked.Increment(ref _handlerRestarts);
        DevHostTelemetry.HandlerRestarted();
    }

    public void QueueInvocationStarted() => Interlocked.Increment(ref _queueInvocations);

    public void QueueInvocationFailed() => Interlocked.Increment(ref _queueInvocationsFailed);

    public void QueueMessagePoisoned()
    {
        Interlocked.Increment(ref _queueMessagesPoisoned);
        DevHostTelemetry.QueueMessagePoisoned();
    }

    public void BrokerStateChanged(MqttConnectionState state)
    {
        var previous = Interlocked.Exchange(ref _broker, state);
        if (previous?.Status == MqttConnectionStatus.Connected && state.Status != MqttConnectionStatus.Connected)
        {
            Interlocked.Increment(ref _brokerConnectionLosses);
        }
    }

    public DevHostStats Snapshot() => new()
    {
        EventsReceived = Interlocked.Read(ref _eventsReceived),
        EventsDelivered = Interlocked.Read(ref _eventsDelivered),
        EventsDropped = Interlocked.Read(ref _eventsDropped),
        InvocationsSucceeded = Interlocked.Read(ref _invocationsSucceeded),
        InvocationsFailed = Interlocked.Read(ref _invocationsFailed),
        BatchesDropped = Interlocked.Read(ref _batchesDropped),
        HandlerRestarts = Interlocked.Read(ref _handlerRestarts),
        Broker = Volatile.Read(ref _broker),
        BrokerConnectionLosses = Interlocked.Read(ref _brokerConnectionLosses),
        QueueInvocations = Interlocked.Read(ref _queueInvocations),
        QueueInvocationsFailed = Interlocked.Read(ref _queueInvocationsFailed),
        QueueMessagesPoisoned = Interlocked.Read(ref _queueMessagesPoisoned),
    };
}
