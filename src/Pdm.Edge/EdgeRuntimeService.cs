using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pdm.Edge.Cloud;

namespace Pdm.Edge;

/// <summary>
/// Runs the <see cref="EdgeRuntime"/> for the life of the host. Starting fails (and so does the host) when the cloud
/// cannot be reached as configured; stopping drains nothing: the disk queue keeps what was not sent.
/// </summary>
public sealed partial class EdgeRuntimeService(IOptions<EdgeOptions> options, IOptions<CloudSettings> cloud, IConfiguration configuration,
    IHttpClientFactory httpClients, ILoggerFactory loggerFactory, TimeProvider timeProvider, ILogger<EdgeRuntimeService> logger)
    : IHostedService, IAsyncDisposable
{
    /// <summary>The running runtime; null before start and after stop.</summary>
    public EdgeRuntime? Runtime { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // The host's configuration holds the environment, so IOTEDGE_* comes from there (and a test can set it).
        Runtime = await EdgeRuntime.StartAsync(settings, cloud.Value, httpClients, loggerFactory, timeProvider, key => configuration[key],
            cancellationToken);
        Log.Started(logger, Runtime.Cloud.Mode, settings.DataDirectory, settings.ConfigurationFile ?? "module twin");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Runtime is { } runtime)
        {
            Runtime = null;
            await runtime.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private static partial class Log
    {
        [LoggerMessage(5335, LogLevel.Information, "Edge module running ({Mode}); data in {DataDirectory}; configuration from {ConfigurationSource}")]
        public static partial void Started(ILogger logger, CloudMode mode, string dataDirectory, string configurationSource);
    }
}
