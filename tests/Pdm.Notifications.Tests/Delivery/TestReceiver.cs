using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pdm.Notifications.Tests.Delivery;

/// <summary>A request as the receiver got it, and the status it answered.</summary>
public sealed record ReceivedRequest(string Path, IReadOnlyDictionary<string, string> Headers, string Body, int Status)
{
    public string WebhookId => Headers["webhook-id"];
}

/// <summary>
/// A Kestrel webhook receiver on 127.0.0.1: every path under <c>/hook/</c> answers 200 unless the test set another
/// status for it (<see cref="Answer"/>), e.g. 503 while "down", 410 for "gone". Every request is recorded.
/// </summary>
public sealed class TestReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly ConcurrentDictionary<string, int> _status = new();
    private readonly ConcurrentDictionary<string, TimeSpan> _delay = new();
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public IReadOnlyList<ReceivedRequest> Accepted(string name) => [.. _received.Where(r => r.Path == $"/hook/{name}" && r.Status == 200)];

    public IReadOnlyList<ReceivedRequest> To(string name) => [.. _received.Where(r => r.Path == $"/hook/{name}")];

    public string Url(string name) => new Uri(BaseAddress, $"/hook/{name}").ToString();

    /// <summary>What <c>/hook/{name}</c> answers from now on.</summary>
    public void Answer(string name, int status) => _status[name] = status;

    /// <summary>How long <c>/hook/{name}</c> takes to answer from now on (a slow receiver).</summary>
    public void Slow(string name, TimeSpan delay) => _delay[name] = delay;

    public static async Task<TestReceiver> StartAsync()
    {
        var receiver = new TestReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/hook/{name}", async (string name, HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            if (receiver._delay.TryGetValue(name, out var delay))
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            var status = receiver._status.GetValueOrDefault(name, 200);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            receiver._received.Enqueue(new ReceivedRequest(context.Request.Path, headers, body, status));
            return Results.Text(status == 200 ? "thanks" : "not now", statusCode: status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        receiver._app = app;
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
