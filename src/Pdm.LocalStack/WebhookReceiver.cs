using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace Pdm.LocalStack;

/// <summary>
/// A tenant's webhook endpoint for the demo: verifies every signature (the Standard Webhooks library), answers 2xx,
/// counts each <c>webhook-id</c> once, writes one readable line per event to a file anyone can <c>tail -f</c>, and
/// lists the latest events at <c>GET /</c>. A request with a bad or missing signature gets 401 and is logged as such.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private const int MaxBodyBytes = 256 * 1024;
    private const int Latest = 50;

    private readonly WebApplication _app;
    private readonly string _logFile;
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _latest = new();
    private readonly Lock _write = new();
    private readonly Action<string>? _onEvent;
    private volatile StandardWebhook? _verifier;
    private int _refused;

    private WebhookReceiver(WebApplication app, string logFile, Uri url, Action<string>? onEvent)
    {
        _app = app;
        _logFile = logFile;
        _onEvent = onEvent;
        Url = url;
    }

    /// <summary>Where to subscribe: http on 127.0.0.1 (a development subscription that allows loopback).</summary>
    public Uri Url { get; }

    /// <summary>Events received, each webhook-id once.</summary>
    public int Received => _seen.Count;

    /// <summary>Requests refused for their signature.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The subscription's secret (<c>whsec_…</c>), known once the subscription is created.</summary>
    public void UseSecret(string secret) => _verifier = new StandardWebhook(secret);

    /// <param name="onEvent">Called with the body of each verified event, once per webhook-id, as it arrives.</param>
    public static async Task<WebhookReceiver> StartAsync(string logFile, CancellationToken cancellationToken, Action<string>? onEvent = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logFile))!);
        // Content root: not the working directory, whose appsettings watcher would follow every write in the tree below it
        // (the repository with PostgreSQL's data in .pdm: one run spent a quarter of its CPU reading those events).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NoConsoleLifetime>();
        var port = FreePort.Pick();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, logFile, new Uri($"http://127.0.0.1:{port}/alerts"), onEvent);
        app.MapPost("/alerts", (Delegate)receiver.ReceiveAsync);
        app.MapGet("/", () => Results.Text(string.Join('\n', receiver._latest.Reverse()) + '\n'));
        await app.StartAsync(cancellationToken);
        return receiver;
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var id = context.Request.Headers["webhook-id"].ToString();
        try
        {
            (_verifier ?? throw new InvalidOperationException("no secret yet")).Verify(body, context.Request.Headers);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _refused);
            Write($"{Now()}  REFUSED {id}: signature not verified ({ex.Message})");
            return Results.Unauthorized();
        }
        if (_seen.TryAdd(id, true))
        {
            _onEvent?.Invoke(body);
            Write($"{Now()}  {Describe(body)}  [{id}]");
        }
        return Results.NoContent();
    }

    /// <summary>"alert.opened HIGH EG_M003 vibration: vibration_x 4.74 mm/s: ISO 10816 zone C".</summary>
    private static string Describe(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var type = json.RootElement.GetProperty("type").GetString();
            var alert = json.RootElement.GetProperty("data").GetProperty("alert");
            string Text(string name) => alert.TryGetProperty(name, out var v) ? v.ToString() : "?";
            var summary = alert.TryGetProperty("explanation", out var e) && e.TryGetProperty("summary", out var s) ? s.GetString() : "";
            return $"{type,-18} {Text("severity"),-8} {Text("subjectId")} {Text("ruleId")}: {summary}";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"(not an alert event: {ex.Message})";
        }
    }

    private void Write(string line)
    {
        lock (_write)
        {
            File.AppendAllText(_logFile, line + '\n');
            _latest.Enqueue(line);
            while (_latest.Count > Latest)
            {
                _latest.TryDequeue(out _);
            }
        }
    }

    private static string Now() => DateTimeOffset.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
