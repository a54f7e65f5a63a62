using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Mqtt;

namespace Pdm.IotHub;

/// <summary>A device or module twin's two property sets, each a JSON object that carries its <c>$version</c>.</summary>
public sealed record TwinDocument
{
    public required string Desired { get; init; }
    public required long DesiredVersion { get; init; }
    public required string Reported { get; init; }
    public required long ReportedVersion { get; init; }
}

/// <summary>IoT Hub (or edgeHub) answered a twin request with an error status, or with something we cannot read.</summary>
public sealed class TwinException : Exception
{
    public TwinException() { }
    public TwinException(string message) : base(message) { }
    public TwinException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The status in the response topic: 400 malformed, 429 throttled, 5xx hub error.</summary>
    public int? Status { get; init; }

    /// <summary>429 and 5xx are worth retrying later; 400 is not.</summary>
    public bool IsTransient => Status is 429 or >= 500;
}

/// <summary>
/// The twin of the identity an MQTT session is connected as, over IoT Hub's <c>$iothub/twin/</c> topics: read the
/// whole twin, patch reported properties, and receive desired-property patches.
/// </summary>
/// <remarks>
/// <para>
/// The session's <see cref="IMqttClient.Messages"/> has a single reader, so the twin client does not read it: it
/// reads only the twin messages an <see cref="MqttTopicRouter"/> hands it (<see cref="Create"/> registers the
/// <see cref="TopicFilter"/> route), and the session's other consumers take their own routes.
/// </para>
/// <para>
/// The hub sends desired patches only while connected: after a reconnect, call <see cref="GetAsync"/> and compare
/// <see cref="TwinDocument.DesiredVersion"/> with the last version applied.
/// </para>
/// </remarks>
public sealed partial class TwinClient : IAsyncDisposable
{
    public const string TopicFilter = "$iothub/twin/#";
    public const string ResponseTopicFilter = "$iothub/twin/res/#";
    public const string DesiredPatchTopicFilter = "$iothub/twin/PATCH/properties/desired/#";

    private const string ResponsePrefix = "$iothub/twin/res/";
    private const string DesiredPatchPrefix = "$iothub/twin/PATCH/properties/desired/";
    private const string GetTopic = "$iothub/twin/GET/";
    private const string ReportedPatchTopic = "$iothub/twin/PATCH/properties/reported/";
    private const int MaxBodyInError = 300;

    private readonly IMqttClient _client;
    private readonly ChannelReader<MqttMessage> _twinMessages;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TwinResponse>> _pending = new(StringComparer.Ordinal);
    private readonly Channel<string> _desiredPatches = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });
    // Request ids are unique per client even where several sessions share one broker's topics (local Mosquitto).
    private readonly string _requestIdPrefix = Guid.NewGuid().ToString("N")[..8];
    private readonly CancellationTokenSource _stop = new();
    private long _nextRequestId;
    private Task? _readLoop;
    private int _disposed;

    /// <param name="client">The session; the twin client publishes and subscribes on it but does not own it.</param>
    /// <param name="twinMessages">Only the session's <c>$iothub/twin/</c> messages (see <see cref="MqttTopicRouter"/>).</param>
    public TwinClient(IMqttClient client, ChannelReader<MqttMessage> twinMessages, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(twinMessages);
        _client = client;
        _twinMessages = twinMessages;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>A twin client fed by <paramref name="router"/>'s <see cref="TopicFilter"/> route; add it before the router runs.</summary>
    public static TwinClient Create(IMqttClient client, MqttTopicRouter router, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        return new TwinClient(client, router.Route(TopicFilter), logger);
    }

    /// <summary>How long a GET or PATCH waits for its response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Desired-property patches as the hub sent them: JSON objects with the changed members and <c>$version</c>.</summary>
    public ChannelReader<string> DesiredPatches => _desiredPatches.Reader;

    /// <summary>Starts reading twin messages, then subscribes to responses (first, as IoT Hub asks) and desired patches.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _readLoop, Task.CompletedTask, null) is not null)
        {
            throw new InvalidOperationException("The twin client is already started.");
        }
        _readLoop = Task.Run(() => ReadAsync(_stop.Token), CancellationToken.None);
        await _client.SubscribeAsync(ResponseTopicFilter, 1, cancellationToken);
        await _client.SubscribeAsync(DesiredPatchTopicFilter, 1, cancellationToken);
    }

    /// <summary>The whole twin (<c>$iothub/twin/GET</c>, answered with 200).</summary>
    public async Task<TwinDocument> GetAsync(CancellationToken cancellationToken)
    {
        var response = await RequestAsync("GET", GetTopic, ReadOnlyMemory<byte>.Empty, cancellationToken);
        if (response.Status != 200)
        {
            throw Failed("GET", response);
        }
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            var desired = document.RootElement.GetProperty("desired");
            var reported = document.RootElement.GetProperty("reported");
            return new TwinDocument
            {
                Desired = desired.GetRawText(),
                DesiredVersion = VersionOf(desired),
                Reported = reported.GetRawText(),
                ReportedVersion = VersionOf(reported),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new TwinException($"Twin GET answered 200 with a body that is not a twin document ({ex.Message}): {Shorten(response.Body)}", ex)
            {
                Status = response.Status,
            };
        }
    }

    /// <summary>
    /// Merges <paramref name="patchJson"/> (a JSON object; <c>null</c> members delete) into the reported properties
    /// and returns their new version (<c>$iothub/twin/PATCH/properties/reported</c>, answered with 204).
    /// </summary>
    public async Task<long> UpdateReportedAsync(string patchJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(patchJson);
        if (!IsJsonObject(patchJson, out var reason))
        {
            throw new ArgumentException($"A reported-properties patch must be a JSON object: {reason}", nameof(patchJson));
        }
        var response = await RequestAsync("PATCH", ReportedPatchTopic, Encoding.UTF8.GetBytes(patchJson), cancellationToken);
        if (response.Status != 204)
        {
            throw Failed("PATCH reported", response);
        }
        return long.TryParse(response.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new TwinException($"Twin PATCH answered 204 without a $version in its topic (got '{response.Version}').") { Status = 204 };
    }

    /// <summary>Stops reading; requests still waiting fail. The session itself stays open.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync();
        if (_readLoop is { } loop)
        {
            await loop;
        }
        _stop.Dispose();
    }

    private async Task<TwinResponse> RequestAsync(string what, string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_readLoop is null)
        {
            throw new InvalidOperationException("Call StartAsync before sending twin requests.");
        }
        var requestId = $"{_requestIdPrefix}{Interlocked.Increment(ref _nextRequestId).ToString(CultureInfo.InvariantCulture)}";
        // Registered before publishing: the response may arrive before PublishAsync returns.
        var response = new TaskCompletionSource<TwinResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = response;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                await _client.PublishAsync(new MqttMessage($"{topic}?$rid={requestId}", payload, Qos: 1), timeout.Token);
                return await response.Task.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Twin {what} (request {requestId}) got no response within {RequestTimeout.TotalSeconds:0.#} s.");
            }
        }
        finally
        {
            _pending.TryRemove(requestId, out _);
        }
    }

    private async Task ReadAsync(CancellationToken stop)
    {
        Exception ended = new ObjectDisposedException(nameof(TwinClient));
        try
        {
            await foreach (var message in _twinMessages.ReadAllAsync(stop))
            {
                Dispatch(message);
            }
            ended = new MqttException("The MQTT session's message channel completed; the twin client stopped.");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // disposed
        }
        finally
        {
            _desiredPatches.Writer.TryComplete();
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(ended);
            }
        }
    }

    private void Dispatch(MqttMessage message)
    {
        var topic = message.Topic;
        if (topic.StartsWith(ResponsePrefix, StringComparison.Ordinal))
        {
            var rest = topic.AsSpan(ResponsePrefix.Length);
            var slash = rest.IndexOf('/');
            var query = ParseQuery(topic);
            if (slash <= 0 || !int.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var status)
                || !query.TryGetValue("$rid", out var requestId))
            {
                _logger.TwinMessageUnexpected(topic);
                return;
            }
            // Another session's response on a shared local broker has an id we never issued.
            if (_pending.TryGetValue(requestId, out var pending))
            {
                pending.TrySetResult(new TwinResponse(status, query.GetValueOrDefault("$version"), Encoding.UTF8.GetString(message.Payload.Span)));
            }
        }
        else if (topic.StartsWith(DesiredPatchPrefix, StringComparison.Ordinal))
        {
            var version = ParseQuery(topic).GetValueOrDefault("$version") ?? "?";
            _logger.DesiredPatchReceived(version, message.Payload.Length);
            _desiredPatches.Writer.TryWrite(Encoding.UTF8.GetString(message.Payload.Span));
        }
        else
        {
            _logger.TwinMessageUnexpected(topic);
        }
    }

    /// <summary>The <c>?k=v&amp;k=v</c> part of a twin topic (<c>$rid</c>, <c>$version</c>).</summary>
    private static Dictionary<string, string> ParseQuery(string topic)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var question = topic.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return values;
        }
        foreach (var pair in topic[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            values[key] = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
        }
        return values;
    }

    private static long VersionOf(JsonElement properties) =>
        properties.TryGetProperty("$version", out var version) ? version.GetInt64() : 0;

    private static bool IsJsonObject(string json, out string reason)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            reason = document.RootElement.ValueKind == JsonValueKind.Object ? "" : $"it is a JSON {document.RootElement.ValueKind}";
            return reason.Length == 0;
        }
        catch (JsonException ex)
        {
            reason = ex.Message;
            return false;
        }
    }

    private static TwinException Failed(string what, TwinResponse response)
    {
        var meaning = response.Status switch
        {
            400 => "malformed request",
            429 => "throttled, retry later",
            >= 500 => "hub error, retry later",
            _ => "unexpected status",
        };
        return new TwinException($"Twin {what} answered {response.Status} ({meaning}): {Shorten(response.Body)}") { Status = response.Status };
    }

    private static string Shorten(string text) =>
        text.Length == 0 ? "(empty body)" : text.Length <= MaxBodyInError ? text : string.Concat(text.AsSpan(0, MaxBodyInError), "...");

    private sealed record TwinResponse(int Status, string? Version, string Body);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6520, Level = LogLevel.Information, Message = "Twin desired-properties patch version {Version} received ({Bytes} bytes)")]
    public static partial void DesiredPatchReceived(this ILogger logger, string version, int bytes);

    [LoggerMessage(EventId = 6521, Level = LogLevel.Warning, Message = "Twin message on unexpected topic {Topic} ignored")]
    public static partial void TwinMessageUnexpected(this ILogger logger, string topic);
}
