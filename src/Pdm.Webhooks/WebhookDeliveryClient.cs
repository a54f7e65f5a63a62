using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pdm.Webhooks;

/// <summary>How webhooks are sent; settings <c>Pdm__Webhooks__*</c>.</summary>
public sealed class WebhookDeliveryOptions
{
    public const string Section = "Pdm:Webhooks";

    /// <summary>Plain http endpoints are accepted (development only; production receivers use https).</summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Development only: a subscription that asks for it (<see cref="WebhookDeliveryRequest.AllowLoopback"/>) may reach
    /// loopback addresses, never private or metadata ones. Off, no delivery reaches loopback whatever a subscription says.
    /// </summary>
    public bool AllowLoopback { get; set; }

    /// <summary>Time to open the TCP connection (the address check included).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time for the whole attempt: connect, TLS, send, response headers and the excerpt of the body.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>At most this much of a response body is read; it is what the attempt log keeps.</summary>
    [Range(0, 1024 * 1024)]
    public int ResponseExcerptBytes { get; set; } = 4096;
}

/// <summary>One POST of one event to one endpoint.</summary>
/// <param name="Url">The subscription's endpoint.</param>
/// <param name="MessageId">The event id, sent as <c>webhook-id</c> (the receiver's dedupe key).</param>
/// <param name="Body">The event envelope exactly as serialised once (<see cref="WebhookEvent.Serialize"/>).</param>
/// <param name="Secrets">The subscription's valid secrets (<see cref="WebhookSecretSet.ValidAt"/>).</param>
/// <param name="AllowLoopback">The tenant's development setting: loopback endpoints are reached.</param>
public sealed record WebhookDeliveryRequest(Uri Url, string MessageId, string Body, IReadOnlyList<WebhookSecret> Secrets, bool AllowLoopback = false);

public enum WebhookAttemptOutcome
{
    /// <summary>The receiver answered 2xx.</summary>
    Delivered,

    /// <summary>No 2xx (error status, redirect, timeout, connection failure): try again later.</summary>
    Failed,

    /// <summary>410 Gone: the receiver says the endpoint no longer exists; the subscription may be disabled.</summary>
    Gone,

    /// <summary>Not sent, by policy (scheme, address): retrying cannot help until the subscription changes.</summary>
    Refused,
}

/// <summary>What one attempt did, for the attempt log and the retry decision.</summary>
public sealed record WebhookAttemptResult(
    WebhookAttemptOutcome Outcome,
    DateTimeOffset AttemptedAt,
    TimeSpan Latency,
    int? StatusCode = null,
    string? ResponseExcerpt = null,
    bool ResponseTruncated = false,
    string? Error = null,
    TimeSpan? RetryAfter = null)
{
    public bool ShouldRetry => Outcome == WebhookAttemptOutcome.Failed;
}

/// <summary>Resolves a host name; a seam so tests can make any name resolve to any address.</summary>
public interface IWebhookHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The system resolver.</summary>
public sealed class DnsWebhookHostResolver : IWebhookHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>A connection the address policy forbids; raised inside the connect callback, before any socket opens.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>
/// Sends signed webhooks safely. The address is checked when connecting: the host is resolved once, every address it
/// resolves to must pass <see cref="WebhookAddressPolicy"/>, and the socket connects to exactly those checked
/// addresses, so a DNS answer that changes between check and connect (rebinding) cannot reach an internal address.
/// Redirects are not followed, no proxy is used, response bodies are read only up to a cap. One client serves all
/// tenants: keep it as a singleton.
/// </summary>
public sealed class WebhookDeliveryClient : IDisposable
{
    private const string UserAgent = "PdmServerless-Webhooks/1";

    private readonly WebhookDeliveryOptions _options;
    private readonly TimeProvider _time;
    private readonly IWebhookHostResolver _resolver;

    // Two pools: a connection opened for a tenant allowed to reach loopback must never be reused by a tenant that is
    // not, and the pool is keyed by host and port only.
    private readonly HttpClient _publicOnly;
    private readonly HttpClient _loopbackAllowed;

    public WebhookDeliveryClient(WebhookDeliveryOptions options, TimeProvider timeProvider, IWebhookHostResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _time = timeProvider;
        _resolver = resolver ?? new DnsWebhookHostResolver();
        _publicOnly = CreateClient(allowLoopback: false);
        _loopbackAllowed = CreateClient(allowLoopback: true);
    }

    /// <summary>
    /// Signs <paramref name="request"/> at this moment and POSTs it once. Every outcome is a result; only the
    /// caller's own cancellation throws.
    /// </summary>
    public async Task<WebhookAttemptResult> DeliverAsync(WebhookDeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var attemptedAt = _time.GetUtcNow();
        var started = _time.GetTimestamp();
        WebhookAttemptResult Result(WebhookAttemptOutcome outcome, int? status = null, string? excerpt = null, bool truncated = false,
            string? error = null, TimeSpan? retryAfter = null) =>
            new(outcome, attemptedAt, _time.GetElapsedTime(started), status, excerpt, truncated, error, retryAfter);

        var loopback = request.AllowLoopback && _options.AllowLoopback;
        if (UrlRefusal(request.Url, loopback) is { } refusal)
        {
            return Result(WebhookAttemptOutcome.Refused, error: refusal);
        }

        var headers = WebhookSigner.Sign(request.MessageId, attemptedAt, request.Body, request.Secrets);
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Url)
        {
            Content = new StringContent(request.Body, Encoding.UTF8, "application/json"),
        };
        headers.ApplyTo(message.Headers);
        message.Headers.UserAgent.ParseAdd(UserAgent);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TotalTimeout);
        var client = loopback ? _loopbackAllowed : _publicOnly;
        try
        {
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var (excerpt, truncated) = await ReadExcerptAsync(response, timeout.Token);
            var retryAfter = RetryAfter(response, attemptedAt);
            return status switch
            {
                >= 200 and <= 299 => Result(WebhookAttemptOutcome.Delivered, status, excerpt, truncated),
                410 => Result(WebhookAttemptOutcome.Gone, status, excerpt, truncated, "HTTP 410 Gone: the receiver says this endpoint is gone"),
                >= 300 and <= 399 => Result(WebhookAttemptOutcome.Failed, status, excerpt, truncated,
                    $"HTTP {status}: redirect to {response.Headers.Location?.ToString() ?? "(no Location)"} not followed; webhooks are not redirected"),
                _ => Result(WebhookAttemptOutcome.Failed, status, excerpt, truncated, $"HTTP {status} {response.ReasonPhrase}".TrimEnd(), retryAfter),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Result(WebhookAttemptOutcome.Failed, error: $"No response within {_options.TotalTimeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refused)
        {
            return Result(WebhookAttemptOutcome.Refused, error: refused.Message);
        }
        catch (HttpRequestException ex)
        {
            return Result(WebhookAttemptOutcome.Failed, error: Describe(ex));
        }
    }

    public void Dispose()
    {
        _publicOnly.Dispose();
        _loopbackAllowed.Dispose();
    }

    /// <summary>Why <paramref name="url"/> is refused before any connection, or null.</summary>
    internal string? UrlRefusal(Uri url, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return $"Webhook URL '{url}' is not absolute.";
        }
        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && _options.AllowHttp))
        {
            return _options.AllowHttp
                ? $"Webhook URL scheme '{url.Scheme}' is not http or https."
                : $"Webhook URL scheme '{url.Scheme}' is refused: only https is allowed (Pdm:Webhooks:AllowHttp is off).";
        }
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return "Webhook URL must not carry credentials in its user-info part.";
        }
        if (IPAddress.TryParse(url.DnsSafeHost, out var literal) && WebhookAddressPolicy.RefusalReason(literal, allowLoopback) is { } reason)
        {
            return $"Webhook address {literal} is refused: {reason}.";
        }
        return null;
    }

    private HttpClient CreateClient(bool allowLoopback)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false, // a proxy would connect for us, past the address check
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxResponseHeadersLength = 64, // KiB
            ConnectCallback = (context, token) => ConnectCheckedAsync(context.DnsEndPoint, allowLoopback, token),
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private async ValueTask<Stream> ConnectCheckedAsync(DnsEndPoint endPoint, bool allowLoopback, CancellationToken cancellationToken)
    {
        var host = endPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await _resolver.ResolveAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        foreach (var address in addresses)
        {
            if (WebhookAddressPolicy.RefusalReason(address, allowLoopback) is { } reason)
            {
                throw new WebhookAddressRefusedException(
                    address.ToString() == host ? $"Webhook address {address} is refused: {reason}." : $"Webhook host {host} resolves to {address}, which is refused: {reason}.");
            }
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }

    private async Task<(string? Excerpt, bool Truncated)> ReadExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var cap = _options.ResponseExcerptBytes;
        var buffer = new byte[cap + 1];
        var read = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
                if (n == 0)
                {
                    break;
                }
                read += n;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The status is what counts; a body cut short is kept as far as it came.
            return (Decode(buffer, Math.Min(read, cap)), true);
        }
        return (Decode(buffer, Math.Min(read, cap)), read > cap);
    }

    private static string? Decode(byte[] buffer, int count) => count == 0 ? null : Encoding.UTF8.GetString(buffer, 0, count);

    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    private static WebhookAddressRefusedException? FindRefusal(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is WebhookAddressRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    private static string Describe(HttpRequestException ex)
    {
        var inner = ex.InnerException is { } i && !ex.Message.Contains(i.Message, StringComparison.Ordinal) ? $" ({i.Message})" : "";
        return string.Create(CultureInfo.InvariantCulture, $"{ex.Message}{inner}");
    }
}
