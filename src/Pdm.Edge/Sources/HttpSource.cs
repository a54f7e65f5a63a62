using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Configuration;
using Pdm.Messaging.Mqtt;

namespace Pdm.Edge.Sources;

/// <summary>
/// Polls a JSON endpoint at the configured interval and maps each response to a reading, as <see cref="MqttSource"/>
/// maps a message. A failed poll (no answer, an error status, a body that does not map) makes the source
/// <see cref="SourceState.Failing"/> and the next poll waits a growing, jittered delay.
/// </summary>
public sealed partial class HttpSource : ISource
{
    public const string Kind = "http";

    /// <summary>Longest wait between polls of a failing endpoint (unless the poll interval itself is longer).</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);

    private readonly HttpSourceConfiguration _configuration;
    private readonly HttpClient _httpClient;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SourceStatusTracker _status;
    private readonly string _displayUrl;

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
    }

    public string Name => _configuration.Name;

    public SourceStatus Status => _status.Snapshot;

    public async Task RunAsync(IReadingSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var failures = 0;
        var maxDelay = _configuration.PollInterval > MaxBackoff ? _configuration.PollInterval : MaxBackoff;
        try
        {
            while (true)
            {
                var started = _time.GetTimestamp();
                var reading = await PollAsync(cancellationToken);
                TimeSpan delay;
                if (reading.Error is { } error)
                {
                    delay = ReconnectBackoff.NextDelay(failures++, _configuration.PollInterval, maxDelay, Random.Shared);
                    _status.RecordError(error, SourceState.Failing);
                    _logger.HttpPollFailed(Name, error, failures, delay);
                }
                else
                {
                    await sink.WriteAsync(reading.Reading!, cancellationToken);
                    _status.RecordRead();
                    _status.SetState(SourceState.Connected);
                    if (failures > 0)
                    {
                        _logger.HttpPollRecovered(Name, _displayUrl, failures);
                    }
                    failures = 0;
                    var elapsed = _time.GetElapsedTime(started);
                    delay = elapsed < _configuration.PollInterval ? _configuration.PollInterval - elapsed : TimeSpan.Zero;
                }
                await Task.Delay(delay, _time, cancellationToken);
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

internal static partial class Log
{
    [LoggerMessage(EventId = 5140, Level = LogLevel.Warning,
        Message = "HTTP source {Source} poll failed ({Reason}), {Failures} in a row; next poll in {Delay}")]
    public static partial void HttpPollFailed(this ILogger logger, string source, string reason, int failures, TimeSpan delay);

    [LoggerMessage(EventId = 5141, Level = LogLevel.Information, Message = "HTTP source {Source} reads {Url} again after {Failures} failed polls")]
    public static partial void HttpPollRecovered(this ILogger logger, string source, string url, int failures);
}
