using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pdm.Webhooks.Tests;

/// <summary>A request as the receiver got it.</summary>
public sealed record ReceivedWebhook(string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A Kestrel webhook receiver on 127.0.0.1 and a free port, with one path per behaviour: <c>/ok</c>, <c>/fail</c>
/// (500), <c>/gone</c> (410), <c>/busy</c> (503, Retry-After 120), <c>/slow</c> (answers after 30 s), <c>/big</c>
/// (1 MiB body), <c>/redirect</c> (302 to its own <c>/ok</c>). Every request is recorded.
/// </summary>
public sealed class WebhookReceiver : IAsyncLifetime
{
    public const int BigBodyBytes = 1024 * 1024;

    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public Uri Url(string path) => new(BaseAddress, path);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            _received.Enqueue(new ReceivedWebhook(context.Request.Path, headers, body));
            await next(context);
        });
        app.MapPost("/ok", () => Results.Text("thanks"));
        app.MapPost("/fail", () => Results.Text("boom", statusCode: 500));
        app.MapPost("/gone", () => Results.StatusCode(410));
        app.MapPost("/busy", (HttpResponse response) =>
        {
            response.Headers.RetryAfter = "120";
            return Results.StatusCode(503);
        });
        app.MapPost("/slow", async (CancellationToken aborted) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), aborted);
            return Results.Text("late");
        });
        app.MapPost("/big", () => Results.Text(new string('x', BigBodyBytes)));
        app.MapPost("/redirect", () => Results.Redirect(Url("/ok").ToString()));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        _app = app;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
