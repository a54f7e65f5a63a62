using System.Collections.Concurrent;
using System.Threading.Channels;
using Pdm.Mqtt;

namespace Pdm.Simulator.Tests;

/// <summary>
/// Records what is published. A broker would add nothing to these checks: they are about what the simulator
/// sends, not about MQTT. Optionally holds every PUBACK until <see cref="ReleaseAll"/>, to observe what is in flight.
/// </summary>
internal sealed class RecordingMqttClient : IMqttClient
{
    private readonly Channel<MqttMessage> _incoming = Channel.CreateUnbounded<MqttMessage>();
    private readonly ConcurrentQueue<TaskCompletionSource> _held = new();
    private readonly bool _holdAcks;
    private int _inFlight;
    private int _maxInFlight;

    public RecordingMqttClient(bool holdAcks = false) => _holdAcks = holdAcks;

    public ConcurrentQueue<MqttMessage> Published { get; } = new();
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);
    /// <summary>Publishes waiting for <see cref="ReleaseAll"/>.</summary>
    public int Held => _held.Count;
    /// <summary>Fails every publish after this many have succeeded.</summary>
    public int? FailAfter { get; init; }

    public bool IsConnected => true;
    public ChannelReader<MqttMessage> Messages => _incoming.Reader;

    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task SubscribeAsync(string topicFilter, int qos, CancellationToken cancellationToken) => Task.CompletedTask;
    public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public async Task PublishAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (FailAfter is { } limit && Published.Count >= limit)
        {
            throw new MqttException("connection lost");
        }
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, inFlight);
        try
        {
            if (_holdAcks)
            {
                var ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _held.Enqueue(ack);
                await ack.Task.WaitAsync(cancellationToken);
            }
            Published.Enqueue(message with { Payload = message.Payload.ToArray() });
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Acknowledges every publish held so far.</summary>
    public int ReleaseAll()
    {
        var released = 0;
        while (_held.TryDequeue(out var ack))
        {
            ack.TrySetResult();
            released++;
        }
        return released;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
