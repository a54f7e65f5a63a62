using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Mqtt;

namespace Pdm.IotHub.IotEdge;

/// <summary>
/// Client of the IoT Edge workload API (aziot-edged), spoken as HTTP/1.1 over the module's unix socket
/// (<c>unix:///var/run/iotedge/workload.sock</c>) or, for tests and unusual setups, over TCP (<c>http://host:port</c>).
/// </summary>
/// <remarks>
/// The daemon serves at most 10 requests per module socket at once and closes extra connections without a reply;
/// such a request (and one that found no socket) is retried a few times with short jittered delays. Both routes we
/// call are safe to repeat.
/// </remarks>
public sealed partial class WorkloadClient : IDisposable
{
    /// <summary>The version Microsoft's device SDK sends; every later daemon still accepts it on the workload routes.</summary>
    public const string ApiVersion = "2018-06-28";

    public const int MaxAttempts = 5;

    private const int MaxBodyInError = 500;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryMinDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan RetryMaxDelay = TimeSpan.FromSeconds(2);
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly string _endpoint;

    public WorkloadClient(Uri workloadUri, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(workloadUri);
        _logger = logger ?? NullLogger.Instance;
        _endpoint = workloadUri.ToString();
        var handler = new SocketsHttpHandler
        {
            // Stay well under the daemon's 10 concurrent requests per module.
            MaxConnectionsPerServer = 4,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        Uri baseAddress;
        switch (workloadUri.Scheme)
        {
            case "unix":
                var socketPath = Uri.UnescapeDataString(workloadUri.AbsolutePath);
                handler.ConnectCallback = (_, cancellationToken) => ConnectUnixAsync(socketPath, cancellationToken);
                // The host name is never resolved: every connection goes to the socket.
                baseAddress = new Uri("http://workload/");
                break;
            case "http":
                baseAddress = new Uri(workloadUri.GetLeftPart(UriPartial.Authority) + "/");
                break;
            default:
                handler.Dispose();
                throw new ArgumentException($"Workload URI '{workloadUri}' must use unix:// or http://.", nameof(workloadUri));
        }
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = RequestTimeout };
    }

    /// <summary>
    /// HMAC-SHA256 of <paramref name="data"/> with the module's primary key, which never leaves the daemon
    /// (<c>POST /modules/{id}/genid/{gen}/sign</c>).
    /// </summary>
    public async Task<byte[]> SignAsync(string moduleId, string generationId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(moduleId);
        ArgumentException.ThrowIfNullOrEmpty(generationId);
        var path = $"modules/{Uri.EscapeDataString(moduleId)}/genid/{Uri.EscapeDataString(generationId)}/sign?api-version={ApiVersion}";
        var body = SignRequestBody(data.Span);
        var responseBody = await SendAsync(HttpMethod.Post, path, body, cancellationToken);
        var digest = ReadStringProperty(responseBody, "digest", "POST", path);
        try
        {
            return Convert.FromBase64String(digest);
        }
        catch (FormatException ex)
        {
            throw new WorkloadException($"Workload API POST /{path} returned a digest that is not base64.", ex) { StatusCode = 200 };
        }
    }

    /// <summary>The PEM certificates edgeHub's server certificate chains to (<c>GET /trust-bundle</c>).</summary>
    public async Task<string> GetTrustBundleAsync(CancellationToken cancellationToken)
    {
        var path = $"trust-bundle?api-version={ApiVersion}";
        var responseBody = await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        return ReadStringProperty(responseBody, "certificate", "GET", path);
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> SendAsync(HttpMethod method, string path, byte[]? body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } };
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (IsRefusedWithoutReply(ex) && attempt < MaxAttempts)
            {
                var delay = ReconnectBackoff.NextDelay(attempt - 1, RetryMinDelay, RetryMaxDelay, Random.Shared);
                _logger.WorkloadRequestRetried(method.Method, path, attempt, delay, ex.Message);
                await Task.Delay(delay, cancellationToken);
                continue;
            }
            catch (HttpRequestException ex)
            {
                throw new WorkloadException($"Workload API at {_endpoint} did not answer {method} /{path} "
                    + $"(attempt {attempt} of {MaxAttempts}): {ex.Message}", ex);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new WorkloadException($"Workload API at {_endpoint} did not answer {method} /{path} "
                    + $"within {RequestTimeout.TotalSeconds:0} s.", ex);
            }

            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw new WorkloadException($"Workload API {method} /{path} answered {(int)response.StatusCode} "
                        + $"{response.ReasonPhrase}: {Shorten(text)}")
                    {
                        StatusCode = (int)response.StatusCode,
                        ResponseBody = text,
                    };
                }
                return text;
            }
        }
    }

    /// <summary>A connection the daemon closed before answering, or a socket that is not there (yet).</summary>
    private static bool IsRefusedWithoutReply(HttpRequestException exception) =>
        exception.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.ConnectionError;

    private static async ValueTask<Stream> ConnectUnixAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static byte[] SignRequestBody(ReadOnlySpan<byte> data)
    {
        // keyId and algo are what Microsoft's clients send; the current daemon reads only data.
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("keyId", "primary");
            json.WriteString("algo", "HMACSHA256");
            json.WriteBase64String("data", data);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static string ReadStringProperty(string body, string property, string method, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(property, out var value)
                && value.ValueKind == JsonValueKind.String
                && value.GetString() is { Length: > 0 } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
            // reported below with the body
        }
        throw new WorkloadException($"Workload API {method} /{path} answered without a '{property}' string: {Shorten(body)}")
        {
            StatusCode = 200,
            ResponseBody = body,
        };
    }

    private static string Shorten(string text) =>
        text.Length == 0 ? "(empty body)" : text.Length <= MaxBodyInError ? text : string.Concat(text.AsSpan(0, MaxBodyInError), "...");
}

/// <summary>The workload API refused a request, answered something unexpected, or could not be reached.</summary>
public sealed class WorkloadException : Exception
{
    public WorkloadException() { }
    public WorkloadException(string message) : base(message) { }
    public WorkloadException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The HTTP status, or null when no answer came.</summary>
    public int? StatusCode { get; init; }
    public string? ResponseBody { get; init; }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6500, Level = LogLevel.Warning,
        Message = "Workload API {Method} /{Path} got no answer on attempt {Attempt}; retrying in {Delay}: {Reason}")]
    public static partial void WorkloadRequestRetried(this ILogger logger, string method, string path, int attempt, TimeSpan delay, string reason);
}
