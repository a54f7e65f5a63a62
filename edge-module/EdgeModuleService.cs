using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pdm.Edge;

namespace Pdm.EdgeModule;

/// <summary>
/// Runs the edge runtime for the life of the process. Stopping drains nothing: the disk queue keeps what was not
/// sent. Settings that cannot work (no cloud connection, no configuration source) stop the process with exit code 1,
/// so IoT Edge's restart policy and its logs show the reason.
/// </summary>
internal sealed partial class EdgeModuleService(
    EdgeModuleSettings settings, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime, ILogger<EdgeModuleService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        EdgeRuntime runtime;
        try
        {
            runtime = await EdgeRuntime.StartAsync(settings, loggerFactory, cancellationToken: stoppingToken);
        }
        catch (InvalidOperationException exception)
        {
            Log.CannotStart(logger, exception.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            return;
        }
        await using (runtime)
        {
            Log.Started(logger, runtime.Cloud.Mode.ToString(), settings.DataDirectory, settings.ConfigurationFile ?? "module twin");
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5500, LogLevel.Critical, "The edge module cannot start: {Reason}")]
        public static partial void CannotStart(ILogger logger, string reason);

        [LoggerMessage(5501, LogLevel.Information, "Edge module running ({Mode}); data in {DataDirectory}; configuration from {ConfigurationSource}")]
        public static partial void Started(ILogger logger, string mode, string dataDirectory, string configurationSource);
    }
}
