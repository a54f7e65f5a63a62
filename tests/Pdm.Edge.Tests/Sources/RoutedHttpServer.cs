using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Pdm.LocalStack;

namespace Pdm.Edge.Tests.Sources;

/// <summary>
/// A real HTTP server on a free 127.0.0.1 port. Each path answers with what its handler returns for the n-th request
/// (0-based) to that path; unknown paths answer 404. Requests' headers are kept for assertions.
/// </summary>
internal sealed class RoutedHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, Func<int, Task<(int Status, string Body)>>> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RoutedHttpServer()
    {
        Port = FreePort.Pick();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<(string Path, IReadOnlyDictionary<string, string> Headers)> Requests { get; } = new();

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    public void Map(string path, Func<int, (int Status, string Body)> handler) => _routes[path] = n => Task.FromResult(handler(n));

    public void MapAsync(string path, Func<int, Task<(int Status, string Body)>> handler) => _routes[path] = handler;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _listener.Close();
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped
            }

            // Each request on its own task, so a slow answer does not hold up the others.
            _ = AnswerAsync(context);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath;
        Requests.Enqueue((path, context.Request.Headers.AllKeys
            .OfType<string>()
            .ToDictionary(k => k, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase)));
        var (status, body) = _routes.TryGetValue(path, out var handler)
            ? await handler(_counts.AddOrUpdate(path, 0, (_, n) => n + 1))
            : (404, "{}");
        var bytes = Encoding.UTF8.GetBytes(body);
        try
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client gave up waiting (a timeout test) or the server is stopping.
        }
    }
}

