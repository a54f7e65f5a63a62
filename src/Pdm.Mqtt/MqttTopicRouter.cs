using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace Pdm.Mqtt;

/// <summary>
/// Shares one MQTT session between several consumers. <see cref="IMqttClient.Messages"/> is a single reader for
/// everything the session receives; the router is its only reader and hands each message to the consumer whose
/// topic filter matches it (e.g. the twin client takes <c>$iothub/twin/#</c>, an input handler
/// <c>devices/{d}/modules/{m}/inputs/opc/#</c>), keeping each consumer's messages in arrival order. When several
/// filters match, the longest wins, so <c>$iothub/twin/#</c> takes twin messages before <c>$iothub/#</c> sees them.
/// </summary>
/// <remarks>
/// Filters are matched by MQTTnet's <see cref="MqttTopicFilterComparer"/>, as a broker would match a subscription
/// (IoT Hub's topics have no empty levels, where MQTTnet 5.2 and the spec differ for a '+' before another level).
/// Register every route before <see cref="RunAsync"/> starts. A message no route matches has no reader: it is
/// logged and dropped rather than kept in memory forever. When the session's channel completes or the run is
/// cancelled, every route's channel is completed so its reader ends too.
/// </remarks>
public sealed partial class MqttTopicRouter
{
    private readonly ChannelReader<MqttMessage> _source;
    private readonly ILogger _logger;
    private readonly List<(string Filter, Channel<MqttMessage> Channel)> _routes = [];
    private int _running;

    public MqttTopicRouter(ChannelReader<MqttMessage> source, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The messages whose topic matches <paramref name="topicFilter"/> (an MQTT subscription filter), for one reader.</summary>
    public ChannelReader<MqttMessage> Route(string topicFilter)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicFilter);
        if (MqttTopicFilterRules.Problem(topicFilter) is { } problem)
        {
            throw new ArgumentException($"'{topicFilter}' is not a valid MQTT topic filter: {problem}.", nameof(topicFilter));
        }
        if (Volatile.Read(ref _running) != 0)
        {
            throw new InvalidOperationException($"Route '{topicFilter}' must be added before the router runs.");
        }
        if (_routes.Any(route => string.Equals(route.Filter, topicFilter, StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"Topic filter '{topicFilter}' already has a route.");
        }
        var channel = Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _routes.Add((topicFilter, channel));
        // Longest filter first, so a more specific route wins over a general one.
        _routes.Sort((a, b) => b.Filter.Length.CompareTo(a.Filter.Length));
        return channel.Reader;
    }

    /// <summary>Dispatches until the session's channel completes or <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException("The router is already running.");
        }
        try
        {
            await foreach (var message in _source.ReadAllAsync(cancellationToken))
            {
                var target = _routes.FirstOrDefault(route =>
                    MqttTopicFilterComparer.Compare(message.Topic, route.Filter) == MqttTopicFilterCompareResult.IsMatch).Channel;
                if (target is null)
                {
                    _logger.UnroutedMessageDropped(message.Topic, message.Payload.Length);
                    continue;
                }
                // Unbounded: never waits, never fails while the route is open.
                target.Writer.TryWrite(message);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // asked to stop
        }
        finally
        {
            foreach (var (_, channel) in _routes)
            {
                channel.Writer.TryComplete();
            }
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning,
        Message = "MQTT message on {Topic} ({Bytes} bytes) matches no route and was dropped")]
    public static partial void UnroutedMessageDropped(this ILogger logger, string topic, int bytes);
}
