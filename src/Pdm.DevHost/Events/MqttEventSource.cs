using Microsoft.Extensions.Logging;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.DevHost.Events;

/// <summary>
/// The service side of the local IoT Hub: one MQTT session subscribed to every device's and module's
/// telemetry topic, turning each message into a <see cref="DeviceEvent"/>. The client acknowledges a QoS 1
/// message when it arrives, before the function ran, so locally a message is delivered at most once to
/// the endpoint; the endpoint itself then behaves like Event Hubs (stored, batched, checkpointed).
/// </summary>
internal sealed partial class MqttEventSource : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly Action<DeviceEvent> _sink;
    private readonly DevHostCounters _counters;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _reader;

    public MqttEventSource(IMqttClient client, Action<DeviceEvent> sink, DevHostCounters counters, ILogger logger)
    {
        _client = client;
        _sink = sink;
        _counters = counters;
        _logger = logger;
    }

    /// <summary>
    /// Records where the broker session stands and says so loudly when it is refused: while refused, no device
    /// telemetry reaches the functions, however healthy the rest looks.
    /// </summary>
    public static void ReportState(MqttConnectionState state, string clientId, DevHostCounters counters, ILogger logger)
    {
        counters.BrokerStateChanged(state);
        switch (state.Status)
        {
            case MqttConnectionStatus.Refused:
                logger.BrokerRefused(clientId, state.Reason ?? "no reason given");
                break;
            case MqttConnectionStatus.Disconnected:
                logger.BrokerDisconnected(clientId, state.Reason ?? "no reason given");
                break;
            case MqttConnectionStatus.Connected:
                logger.BrokerConnected(clientId);
                break;
            default:
                break;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _client.ConnectAsync(cancellationToken);
        await _client.SubscribeAsync(IotHubTopics.AllDeviceEvents, 1, cancellationToken);
        await _client.SubscribeAsync(IotHubTopics.AllModuleEvents, 1, cancellationToken);
        _reader = ReadAsync(_stopping.Token);
        _logger.MqttSubscribed(IotHubTopics.AllDeviceEvents, IotHubTopics.AllModuleEvents);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_reader is not null)
        {
            await _reader;
        }

        if (_client.IsConnected)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _client.DisconnectAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is MqttException or OperationCanceledException)
            {
                _logger.MqttDisconnectFailed(ex);
            }
        }

        await _client.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task ReadAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var message in _client.Messages.ReadAllAsync(stopping))
            {
                if (IotHubTopics.TryParseEvents(message.Topic, out var topic))
                {
                    _counters.EventReceived();
                    _sink(new DeviceEvent
                    {
                        DeviceId = topic.DeviceId,
                        ModuleId = topic.ModuleId,
                        // Copy: the client may reuse its receive buffer for the next message.
                        Body = message.Payload.ToArray(),
                        SystemProperties = topic.SystemProperties,
                        ApplicationProperties = topic.ApplicationProperties,
                    });
                }
                else
                {
                    _logger.UnexpectedTopic(message.Topic);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7030, Level = LogLevel.Information, Message = "Listening for device telemetry on {DeviceFilter} and {ModuleFilter}")]
    public static partial void MqttSubscribed(this ILogger logger, string deviceFilter, string moduleFilter);

    [LoggerMessage(EventId = 7031, Level = LogLevel.Warning, Message = "Ignored MQTT message on {Topic}: not an IoT Hub telemetry topic")]
    public static partial void UnexpectedTopic(this ILogger logger, string topic);

    [LoggerMessage(EventId = 7032, Level = LogLevel.Warning, Message = "MQTT disconnect failed")]
    public static partial void MqttDisconnectFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7033, Level = LogLevel.Error,
        Message = "BROKER REFUSED the dev host's session {ClientId}: {Reason}. No device telemetry reaches the functions until this is fixed")]
    public static partial void BrokerRefused(this ILogger logger, string clientId, string reason);

    [LoggerMessage(EventId = 7034, Level = LogLevel.Warning, Message = "The dev host's broker session {ClientId} is down: {Reason}; reconnecting")]
    public static partial void BrokerDisconnected(this ILogger logger, string clientId, string reason);

    [LoggerMessage(EventId = 7035, Level = LogLevel.Information, Message = "The dev host's broker session {ClientId} is connected")]
    public static partial void BrokerConnected(this ILogger logger, string clientId);
}
