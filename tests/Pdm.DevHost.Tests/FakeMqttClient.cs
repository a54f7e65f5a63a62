using System.Text;
using System.Threading.Channels;
using Pdm.Mqtt;

namespace Pdm.DevHost.Tests;

/// <summary>An in-memory MQTT session: tests push "received" messages; subscriptions are recorded.</summary>
public sealed class FakeMqttClient : IMqttClient
{
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>();

    public List<(string Filter, int Qos)> Subscriptions { get; } = [];

    public bool IsConnected { get; private set; }

    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    public void Receive(string topic, string payload) => _messages.Writer.TryWrite(new MqttMessage(topic, Encoding.UTF8.GetBytes(payload)));

    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        IsConnected = true;
        return Task.CompletedTask;
    }

    public Task SubscribeAsync(string topicFilter, int qos, CancellationToken cancellationToken)
    {
        Subscriptions.Add((topicFilter, qos));
        return Task.CompletedTask;
    }

    public Task PublishAsync(MqttMessage message, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        IsConnected = false;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _messages.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
