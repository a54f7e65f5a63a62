using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// The HTTP front end for httpTrigger functions with enableProxyingHttpRequest: each function's route under
/// the route prefix is reverse-proxied to the handler at the same path and query, streaming the body both
/// ways, the way the host's YARP-based proxy does. Unknown routes get 404, wrong methods 405.
/// </summary>
internal sealed partial class HttpProxy : IAsyncDisposable
{
    /// <summary>The platform front end cuts HTTP-triggered calls at 230 s.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(230);

    // Connection-level headers that a proxy must not forward (RFC 9110 7.6.1), plus Host, which HttpClient sets.
    private static readonly HashSet<string> HopByHopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
        // Set below from the connection, as the host's YARP forwarder does (its default transforms replace them).
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
    };

    private readonly WebApplication _app;
    private readonly HttpMessageInvoker _client;

    private HttpProxy(WebApplication app, HttpMessageInvoker client, Uri baseAddress)
    {
        _app = app;
        _client = client;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<HttpProxy> StartAsync(
        int port,
        HostSettings host,
        IReadOnlyList<FunctionDefinition> functions,
        Func<Uri> handlerAddress,
        DevHostCounters counters,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        // Content root: not the working directory, whose appsettings watcher would follow every write in the tree below it
        // (the repository with PostgreSQL's data in .pdm: one run spent a quarter of its CPU reading those events).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        // The dev host's owner decides when to stop; the default console lifetime would also react to Ctrl-C on its own.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();

        var client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        });
        var logger = loggerFactory.CreateLogger<HttpProxy>();
        var prefix = host.RoutePrefix.Length == 0 ? "" : "/" + host.RoutePrefix;
        foreach (var function in functions)
        {
            var binding = (HttpTriggerBinding)function.Trigger;
            var pattern = $"{prefix}/{binding.Route}";
            RequestDelegate proxy = context => ForwardAsync(context, function.Name, handlerAddress(), client, counters, logger);
            if (binding.Methods.Count == 0)
            {
                app.Map(pattern, proxy);
            }
            else
            {
                app.MapMethods(pattern, binding.Methods, proxy);
            }
        }

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new HttpProxy(app, client, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _client.Dispose();
    }

    private static async Task ForwardAsync(
        HttpContext context, string functionName, Uri handlerAddress, HttpMessageInvoker client, DevHostCounters counters, ILogger logger)
    {
        var request = context.Request;
        // RawTarget is the path and query exactly as the caller sent them, escapes included.
        var target = new Uri(handlerAddress, context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget);
        using var outgoing = new HttpRequestMessage(new HttpMethod(request.Method), target);
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (!HopByHopHeaders.Contains(name) && !outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        if (context.Connection.RemoteIpAddress is { } caller)
        {
            outgoing.Headers.Add("X-Forwarded-For", caller.ToString());
        }
        outgoing.Headers.Add("X-Forwarded-Proto", request.Scheme);
        outgoing.Headers.Add("X-Forwarded-Host", request.Host.Value);

        var invocationId = Guid.NewGuid().ToString();
        outgoing.Headers.Add("X-Azure-Functions-InvocationId", invocationId);
        outgoing.Headers.Add("X-Azure-Functions-HostVersion", FunctionInvoker.HostVersion);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(outgoing, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            counters.InvocationFailed();
            logger.ProxyFailed(functionName, invocationId, ex);
            context.Response.StatusCode = ex is OperationCanceledException ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
            return;
        }

        using (response)
        {
            counters.InvocationSucceeded();
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHopHeaders.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}

internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7050, Level = LogLevel.Error, Message = "{FunctionName} ({InvocationId}): proxying to the handler failed")]
    public static partial void ProxyFailed(this ILogger logger, string functionName, string invocationId, Exception exception);
}
