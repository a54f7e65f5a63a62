using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pdm.Testing;

/// <summary>One request the fake workload daemon received.</summary>
public sealed record WorkloadRequest(string Method, string Target, string Body);

/// <summary>
/// A stand-in for the IoT Edge workload daemon (aziot-edged): HTTP/1.1 on a unix socket (or 127.0.0.1), written on
/// raw sockets so the client under test meets an independent HTTP implementation. It serves the two routes a module
/// uses, checks them as the daemon does (api-version, module id, generation id, JSON body), signs with a known module
/// key, and can close connections without a reply as the real daemon does past its concurrency limit.
/// </summary>
public sealed class FakeWorkloadDaemon : IAsyncDisposable
{
    public const string ApiVersion = "2018-06-28";

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<WorkloadRequest> _requests = new();
    private readonly Task _acceptLoop;
    private readonly string? _socketPath;
    private int _dropConnections;

    private FakeWorkloadDaemon(Socket listener, Uri uri, string? socketPath, string moduleId, string generationId, string moduleKey, string trustBundle)
    {
        _listener = listener;
        Uri = uri;
        _socketPath = socketPath;
        ModuleId = moduleId;
        GenerationId = generationId;
        ModuleKey = moduleKey;
        TrustBundle = trustBundle;
        _acceptLoop = Task.Run(AcceptAsync);
    }

    /// <summary><c>unix:///.../workload.sock</c> or <c>http://127.0.0.1:port</c>.</summary>
    public Uri Uri { get; }
    public string ModuleId { get; }
    public string GenerationId { get; }

    /// <summary>The module's primary key (base64); the daemon signs with it.</summary>
    public string ModuleKey { get; }
    public string TrustBundle { get; set; }

    /// <summary>When set, every request is answered with this status and body instead.</summary>
    public (int Status, string Body)? FailWith { get; set; }

    public IReadOnlyList<WorkloadRequest> Requests => [.. _requests];
    public int SignRequests => _requests.Count(r => r.Target.Contains("/sign", StringComparison.Ordinal));

    /// <summary>Listens on <c>{directory}/workload.sock</c>.</summary>
    public static FakeWorkloadDaemon StartUnix(string directory, string moduleId, string generationId, string moduleKey, string trustBundle)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "workload.sock");
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        return new FakeWorkloadDaemon(listener, new Uri($"unix://{path}"), path, moduleId, generationId, moduleKey, trustBundle);
    }

    /// <summary>Listens on 127.0.0.1 at a port the system picks.</summary>
    public static FakeWorkloadDaemon StartTcp(string moduleId, string generationId, string moduleKey, string trustBundle)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        return new FakeWorkloadDaemon(listener, new Uri($"http://127.0.0.1:{port}"), null, moduleId, generationId, moduleKey, trustBundle);
    }

    /// <summary>The next <paramref name="count"/> connections are closed as soon as their request has arrived, unanswered.</summary>
    public void DropNextConnections(int count) => Interlocked.Exchange(ref _dropConnections, count);

    /// <summary>What the real daemon returns for <c>sign</c>: HMAC-SHA256 of the data with the module key.</summary>
    public byte[] ExpectedDigest(byte[] data) => HMACSHA256.HashData(Convert.FromBase64String(ModuleKey), data);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopping
        }
        _stop.Dispose();
        if (_socketPath is not null)
        {
            File.Delete(_socketPath);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var connection = await _listener.AcceptAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        await using (var stream = new NetworkStream(connection, ownsSocket: false))
        {
            try
            {
                while (await ReadRequestAsync(stream, _stop.Token) is { } request)
                {
                    _requests.Enqueue(request);
                    if (Interlocked.Decrement(ref _dropConnections) >= 0)
                    {
                        return;
                    }
                    var (status, body) = FailWith ?? Answer(request);
                    var bytes = Encoding.UTF8.GetBytes(body);
                    var head = $"HTTP/1.1 {status.ToString(CultureInfo.InvariantCulture)} {((HttpStatusCode)status)}\r\n"
                        + $"Content-Type: application/json\r\nContent-Length: {bytes.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(bytes, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                // the client went away, or the daemon stops
            }
        }
    }

    private (int Status, string Body) Answer(WorkloadRequest request)
    {
        var question = request.Target.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? request.Target : request.Target[..question];
        var query = question < 0 ? "" : request.Target[(question + 1)..];
        if (!query.Split('&').Contains($"api-version={ApiVersion}"))
        {
            return (400, Message($"missing or unsupported api-version in '{request.Target}'"));
        }
        if (request.Method == "GET" && path == "/trust-bundle")
        {
            return (200, JsonSerializer.Serialize(new Dictionary<string, string> { ["certificate"] = TrustBundle }));
        }
        if (request.Method == "POST" && path == $"/modules/{ModuleId}/genid/{GenerationId}/sign")
        {
            try
            {
                using var json = JsonDocument.Parse(request.Body);
                var root = json.RootElement;
                if (root.GetProperty("keyId").GetString() != "primary" || root.GetProperty("algo").GetString() != "HMACSHA256")
                {
                    return (400, Message("keyId must be 'primary' and algo 'HMACSHA256'"));
                }
                var data = root.GetProperty("data").GetBytesFromBase64();
                return (200, JsonSerializer.Serialize(new Dictionary<string, string> { ["digest"] = Convert.ToBase64String(ExpectedDigest(data)) }));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                return (400, Message($"bad sign request body: {ex.Message}"));
            }
        }
        return (404, Message($"no route {request.Method} {path} for module {ModuleId} generation {GenerationId}"));
    }

    private static string Message(string text) => JsonSerializer.Serialize(new Dictionary<string, string> { ["message"] = text });

    /// <summary>One HTTP/1.1 request with a Content-Length body (what HttpClient sends); null when the client closed.</summary>
    private static async Task<WorkloadRequest?> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                return null;
            }
            head.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString([.. head]).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var length = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && parts[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(parts => int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture))
            .FirstOrDefault();
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancellationToken);
        return new WorkloadRequest(requestLine[0], requestLine[1], Encoding.UTF8.GetString(body));
    }
}
