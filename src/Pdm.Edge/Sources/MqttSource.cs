using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Configuration;
using Pdm.Mqtt;

namespace Pdm.Edge.Sources;

/// <summary>
/// Subscribes to a plant MQTT broker and turns each JSON message into a reading with the subscription's sensor paths.
/// A message that cannot be mapped is counted in <see cref="Status"/> with its topic and reason, and skipped.
/// </summary>
/// <remarks>
/// Until the broker has accepted a first connection this source retries with <see cref="ReconnectBackoff"/> delays;
/// after that the MQTT client reconnects and restores the subscriptions by itself, and the status shows
/// <see cref="SourceState.Failing"/> while it is away.
/// </remarks>
public sealed partial class MqttSource : ISource
{
    public const string Kind = "mqtt";

    private static readonly TimeSpan ReconnectMinDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReconnectMaxDelay = TimeSpan.FromMinutes(1);

    private readonly MqttSourceConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<MqttOptions, IMqttClient> _clientFactory;
    private readonly SourceStatusTracker _status;
    private readonly string _endpoint;
    private volatile IMqttClient? _client;

    /// <param name="clientFactory">Creates the client for the options; <see cref="MqttNetClient"/> when null.</param>
    public MqttSource(MqttSourceConfiguration configuration, ILogger<MqttSource>? logger = null, TimeProvider? timeProvider = null,
        Func<MqttOptions, IMqttClient>? clientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _configuration = configuration;
        _logger = logger ?? NullLogger<MqttSource>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _clientFactory = clientFactory ?? (options => MqttNetClient.Create(options, _logger));
        _status = new SourceStatusTracker(configuration.Name, Kind, _time);
        _endpoint = $"{configuration.Broker.Host}:{configuration.Broker.Port}";
    }

    public string Name => _configuration.Name;

    public SourceStatus Status
    {
        get
        {
            var status = _status.Snapshot;
            return status.State == SourceState.Connected && _client is { IsConnected: false }
                ? status with { State = SourceState.Failing }
                : status;
        }
    }

    /// <summary>The MQTT session settings for a source's broker.</summary>
    public static MqttOptions ClientOptions(MqttSourceConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new MqttOptions
        {
            Host = configuration.Broker.Host,
            Port = configuration.Broker.Port,
            ClientId = configuration.ClientId,
            Username = configuration.Broker.Username,
            Password = configuration.Broker.Password,
            UseTls = configuration.Broker.Tls,
            CaFile = configuration.Broker.CaFile,
            ReconnectMinDelay = ReconnectMinDelay,
            ReconnectMaxDelay = ReconnectMaxDelay,
        };
    }

    public async Task RunAsync(IReadingSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var options = ClientOptions(_configuration);
        var attempt = 0;
        try
        {
            while (true)
            {
                await using var client = _clientFactory(options);
                try
                {
                    await client.ConnectAsync(cancellationToken);
                    foreach (var subscription in _configuration.Subscriptions)
                    {
                        await client.SubscribeAsync(subscription.Topic.Text, subscription.Qos, cancellationToken);
                    }
                }
                catch (MqttException ex)
                {
                    var delay = ReconnectBackoff.NextDelay(attempt++, ReconnectMinDelay, ReconnectMaxDelay, Random.Shared);
                    _status.RecordError($"broker {_endpoint}: {ex.Message}", SourceState.Failing);
                    _logger.MqttConnectFailed(Name, _endpoint, ex.Message, delay);
                    await Task.Delay(delay, _time, cancellationToken);
                    continue;
                }

                attempt = 0;
                _client = client;
                _status.SetState(SourceState.Connected);
                _logger.MqttSourceConnected(Name, _endpoint, _configuration.Subscriptions.Count);
                await foreach (var message in client.Messages.ReadAllAsync(cancellationToken))
                {
                    await HandleAsync(message, sink, cancellationToken);
                }
                return;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _client = null;
            _status.SetState(SourceState.Stopped);
        }
    }

    private async Task HandleAsync(MqttMessage message, IReadingSink sink, CancellationToken cancellationToken)
    {
        var subscription = _configuration.Subscriptions.FirstOrDefault(s => s.Topic.Matches(message.Topic));
        if (subscription is null)
        {
            return;
        }
        if (!subscription.MachineId.TryResolve(message.Topic, out var machineId, out var problem))
        {
            Reject(message.Topic, problem);
            return;
        }

        SourceReading? reading;
        try
        {
            using var document = JsonDocument.Parse(message.Payload);
            if (!JsonReadingMapper.TryMap(document.RootElement, machineId, subscription.TimestampPath, subscription.Sensors,
                    _time.GetUtcNow(), out reading, out problem))
            {
                Reject(message.Topic, problem);
                return;
            }
        }
        catch (JsonException ex)
        {
            Reject(message.Topic, $"payload is not JSON: {ex.Message}");
            return;
        }

        await sink.WriteAsync(reading, cancellationToken);
        _status.RecordRead();
    }

    private void Reject(string topic, string reason)
    {
        _status.RecordError($"topic '{topic}': {reason}");
        _logger.MqttPayloadRejected(Name, topic, reason);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5130, Level = LogLevel.Information,
        Message = "MQTT source {Source} connected to {Endpoint} with {SubscriptionCount} subscriptions")]
    public static partial void MqttSourceConnected(this ILogger logger, string source, string endpoint, int subscriptionCount);

    [LoggerMessage(EventId = 5131, Level = LogLevel.Warning,
        Message = "MQTT source {Source} could not connect to {Endpoint}: {Reason}; retrying in {Delay}")]
    public static partial void MqttConnectFailed(this ILogger logger, string source, string endpoint, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5132, Level = LogLevel.Warning, Message = "MQTT source {Source} skipped a message on {Topic}: {Reason}")]
    public static partial void MqttPayloadRejected(this ILogger logger, string source, string topic, string reason);
}
