using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Mqtt;

namespace Pdm.Cli;

/// <summary>What the demo tells the user when one of its parts stopped, and whether the demo must stop too.</summary>
internal sealed record WatchReport(string Message, bool Fatal);

/// <summary>
/// Notices, on every tick of the demo's progress line, when a part of the demo died: a server of the stack
/// (fatal: ingest cannot go on without it), the edge module (restarted, as the IoT Edge runtime restarts a module,
/// until it crash-loops), the function handler (the dev host restarts it; the demo says so), or the dev host's own
/// session on the broker being refused (then no device's telemetry reaches ingest, so it must not look healthy).
/// </summary>
internal sealed class DemoWatch(Func<StoppedServer?> findStoppedServer, EdgeModuleProcess edge, Func<DevHostStats> hostStats,
    RestartBudget edgeRestarts)
{
    private long _handlerRestarts = hostStats().HandlerRestarts;
    private bool _brokerRefused;

    /// <summary>What went wrong since the last check, or null when everything still runs.</summary>
    public WatchReport? Check()
    {
        if (findStoppedServer() is { } server)
        {
            return new WatchReport(
                $"{server.Name} (pid {server.ProcessId}) stopped unexpectedly; its log is {CliPaths.Relative(server.LogFile)}. "
                + "The demo cannot go on without it and stops.", Fatal: true);
        }
        if (edge.HasExited)
        {
            var exit = edge.ExitCode;
            if (!edgeRestarts.TryTake())
            {
                return new WatchReport(
                    $"The edge module exited again (code {exit}) after {edgeRestarts.Restarts} restarts within "
                    + $"{edgeRestarts.Window.TotalMinutes:0} min; its log is {CliPaths.Relative(edge.LogFile)}. The demo stops.", Fatal: true);
            }
            edge.Restart();
            return new WatchReport(
                $"The edge module exited (code {exit}); restarted it as pid {edge.ProcessId} "
                + $"(its queue on disk carries on). Its log is {CliPaths.Relative(edge.LogFile)}.", Fatal: false);
        }
        var stats = hostStats();
        var refused = stats.Broker is { Status: MqttConnectionStatus.Refused };
        if (refused != _brokerRefused)
        {
            _brokerRefused = refused;
            return refused
                ? new WatchReport($"The broker refuses the dev host's session ({stats.Broker!.Reason}): no telemetry reaches "
                    + "ingest until it is accepted again. The dev host keeps retrying; see the broker's log.", Fatal: false)
                : new WatchReport("The broker accepts the dev host's session again; telemetry flows.", Fatal: false);
        }
        var restarts = stats.HandlerRestarts;
        if (restarts != _handlerRestarts)
        {
            _handlerRestarts = restarts;
            return new WatchReport(
                $"The function handler exited and the dev host restarted it ({restarts} restarts so far); "
                + "its output is in the demo's log.", Fatal: false);
        }
        return null;
    }
}
