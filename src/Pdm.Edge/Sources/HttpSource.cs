using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Configuration;
using Polly;
using Polly.Retry;

namespace Pdm.Edge.Sources;

/// <summary>
/// Polls a JSON endpoint at the configured interval and maps each response to a reading, as <see cref="MqttSource"/>
/// maps a message. A failed poll (no answer, an error status, a body that does not map) makes the source
/// <see cref="SourceState.Failing"/>, and the failed poll is retried after an exponentially growing, jittered delay that
/// starts from the poll interval (Polly's retry; at most <see cref="MaxBackoff"/> or the poll interval if longer).
/// </summary>
public sealed partial class HttpSource : ISource
{
    public const string Kind = "http";

    /// <summary>The named client the runtime asks <see cref="IHttpClientFactory"/> for (registered by AddPdmEdge).</summary>
    public const string HttpClientName = "Pdm.Edge.HttpSource";

    /// <summary>Longest wait between polls of a failing endpoint (unless the poll interval itself is longer).</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);

    private readonly HttpSourceConfiguration _configuration;
    private readonly HttpClient _httpClient;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SourceStatusTracker _status;
    private readonly string _displayUrl;
    private readonly ResiliencePipeline _retry;
    private int _failures;

    /// <param name="httpClient">A shared client; timeouts come from the configuration, not from the client.</param>
    public HttpSource(HttpSourceConfiguration configuration, HttpClient httpClient, ILogger<HttpSource>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(httpClient);
        _configuration = configuration;
        _httpClient = httpClient;
        _logger = logger ?? NullLogger<HttpSource>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _status = new SourceStatusTracker(configuration.Name, Kind, _time);
        // Query strings often carry API keys; status and logs show the URL without them.
        _displayUrl = configuration.Url.GetLeftPart(UriPartial.Path);
        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<PollFailedException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = configuration.PollInterval,
            MaxDelay = configuration.PollInterval > MaxBackoff ? configuration.PollInterval : MaxBackoff,
            OnRetry = args =>
            {
                _failures = args.AttemptNumber + 1;
                var error = args.Outcome.Exception!.Message;
                _status.RecordError(error, SourceState.Failing);
                _logger.HttpPollFailed(Name, error, _failures, args.RetryDelay);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public string Name => _configuration.Name;

    public SourceStatus Status => _status.Snapshot;

    public async Task RunAsync(IReadingSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            while (true)
            {
                var started = _time.GetTimestamp();
                var reading = await _retry.ExecuteAsync(static async (source, token) => await source.PollOrThrowAsync(token),
                    this, cancellationToken);
                await sink.WriteAsync(reading, cancellationToken);
                _status.RecordRead();
                _status.SetState(SourceState.Connected);
                if (_failures > 0)
                {
                    _logger.HttpPollRecovered(Name, _displayUrl, _failures);
                    _failures = 0;
                }
                var elapsed = _time.GetElapsedTime(started);
                if (elapsed < _configuration.PollInterval)
                {
                    await Task.Delay(_configuration.PollInterval - elapsed, _time, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _status.SetState(SourceState.Stopped);
        }
    }

    private async Task<SourceReading> PollOrThrowAsync(CancellationToken cancellationToken)
    {
        var (reading, error) = await PollAsync(cancellationToken);
        return error is null ? reading! : throw new PollFailedException(error);
    }

    private async Task<(SourceReading? Reading, string? Error)> PollAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_configuration.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, _configuration.Url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        foreach (var (name, value) in _configuration.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"{_displayUrl} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var document = await JsonDocument.ParseAsync(body, default, timeout.Token);
            return JsonReadingMapper.TryMap(document.RootElement, _configuration.MachineId, _configuration.TimestampPath,
                _configuration.Sensors, _time.GetUtcNow(), out var reading, out var problem)
                ? (reading, null)
                : (null, $"{_displayUrl}: {problem}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"{_displayUrl} did not answer within {_configuration.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException ex)
        {
            return (null, $"{_displayUrl}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            return (null, $"{_displayUrl}: response is not JSON: {ex.Message}");
        }
    }
}

/// <summary>A poll that failed with a reason for the status and the log; the retry strategy handles only this.</summary>
internal sealed class PollFailedException(string message) : Exception(message);

internal static partial class Log
{
    [LoggerMessage(EventId = 5140, Level = LogLevel.Warning,
        Message = "HTTP source {Source} poll failed ({Reason}), {Failures} in a row; next poll in {Delay}")]
    public static partial void HttpPollFailed(this ILogger logger, string source, string reason, int failures, TimeSpan delay);

    [LoggerMessage(EventId = 5141, Level = LogLevel.Information, Message = "HTTP source {Source} reads {Url} again after {Failures} failed polls")]
    public static partial void HttpPollRecovered(this ILogger logger, string source, string url, int failures);
}
