// The edge module's process: settings from environment variables (IoT Edge passes the deployment manifest's `env`
// this way) or appsettings.json, then the runtime in Pdm.Edge until SIGTERM.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pdm.Edge;
using Pdm.ServiceDefaults;

var builder = Host.CreateApplicationBuilder(args);
builder.AddPdmTelemetry("pdm-edge");
builder.Services.AddPdmEdge();
using var host = builder.Build();
try
{
    await host.StartAsync();
}
catch (Exception exception) when (CannotStartReason(exception) is { } reason)
{
    // Settings that cannot work (an invalid option, no cloud connection, no configuration source) stop the process with
    // exit code 1, so IoT Edge's restart policy and its logs show the reason.
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pdm.EdgeModule").CannotStart(reason);
    return 1;
}
await host.WaitForShutdownAsync();
return 0;

// Several invalid sections arrive together as an AggregateException of OptionsValidationExceptions.
static string? CannotStartReason(Exception exception) => exception switch
{
    OptionsValidationException or InvalidOperationException => exception.Message,
    AggregateException aggregate when aggregate.InnerExceptions.All(e => e is OptionsValidationException) =>
        string.Join("; ", aggregate.InnerExceptions.Select(e => e.Message)),
    _ => null,
};

internal static partial class Log
{
    [LoggerMessage(5500, LogLevel.Critical, "The edge module cannot start: {Reason}")]
    public static partial void CannotStart(this ILogger logger, string reason);
}
