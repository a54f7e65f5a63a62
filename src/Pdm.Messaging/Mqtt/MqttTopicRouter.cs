using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Messaging.Mqtt;

/// <summary>
/// Shares one MQTT session between several consumers. <see cref="IMqttClient.Messages"/> is a single reader for
/// everything the session receives; the router is its only reader and hands each message to the consumer that
/// registered the longest matching topic prefix (e.g. the twin client takes <c>$iothub/twin/</c>, an input handler
/// <c>devices/{d}/modules/{m}/inputs/</c>), keeping each consumer's messages in arrival order.
/// </summary>
/// <remarks>
/// Register every route before <see cref="RunAsync"/> starts. A message no route matches has no reader: it is
/// logged and dropped rather than kept in memory forever. When the session's channel completes or the run is
/// cancelled, every route's channel is completed so its reader ends too.
/// </remarks>
public sealed partial class MqttTopicRouter
{
    private readonly ChannelReader<MqttMessage> _source;
    private readonly ILogger _logger;
    private readonly List<(string Prefix, Channel<MqttMessage> Channel)> _routes = [];
    private int _running;

    public MqttTopicRouter(ChannelReader<MqttMessage> source, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The messages whose topic starts with <paramref name="topicPrefix"/> (ordinal), for one reader.</summary>
    public ChannelReader<MqttMessage> Route(string topicPrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicPrefix);
        if (Volatile.Read(ref _running) != 0)
        {
            throw new InvalidOperationException($"Route '{topicPrefix}' must be added before the router runs.");
        }
        if (_routes.Any(route => string.Equals(route.Prefix, topicPrefix, StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"Topic prefix '{topicPrefix}' already has a route.");
        }
        var channel = Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _routes.Add((topicPrefix, channel));
        // Longest prefix first, so a more specific route wins over a general one.
        _routes.Sort((a, b) => b.Prefix.Length.CompareTo(a.Prefix.Length));
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
                var target = _routes.FirstOrDefault(route => message.Topic.StartsWith(route.Prefix, StringComparison.Ordinal)).Channel;
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
    [LoggerMessage(EventId = 6510, Level = LogLevel.Warning,
        Message = "MQTT message on {Topic} ({Bytes} bytes) matches no route and was dropped")]
    public static partial void UnroutedMessageDropped(this ILogger logger, string topic, int bytes);
}
