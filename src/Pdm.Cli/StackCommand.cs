using System.CommandLine;
using Pdm.LocalStack;

namespace Pdm.Cli;

/// <summary>`pdm stack up`: the local stand-ins in the foreground until Ctrl-C, with the demo's data.</summary>
internal static class StackCommand
{
    public static Command Create()
    {
        var up = new Command("up", "Start PostgreSQL, Mosquitto and Azurite on 127.0.0.1 (state in .pdm/local) until Ctrl-C");
        up.SetAction(async (_, cancellationToken) =>
        {
            await using var stack = await LocalServers.StartAsync(CliPaths.LocalState, CliPaths.RepoRoot, cancellationToken);
            var database = await stack.PrepareDatabaseAsync(CliPaths.LocalDatabaseName, cancellationToken);
            var e = stack.Endpoints;
            Console.WriteLine($"""
                Local stack is up (Ctrl-C stops it; data stays in {e.StateDirectory}).
                  PostgreSQL  psql "host=127.0.0.1 port={e.PostgresPort} user=postgres dbname={database.Name}"
                  MQTT        devices 127.0.0.1:{e.MqttPort}, platform 127.0.0.1:{e.MqttServicePort} (service user {e.MqttServiceUser})
                  Storage     {e.StorageConnectionString}
                Endpoints are also in {LocalServers.EndpointsFile(e.StateDirectory)}.
                """);
            using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await tick.WaitForNextTickAsync(cancellationToken))
                {
                    if (stack.FindStoppedServer() is { } server)
                    {
                        Console.Error.WriteLine($"{server.Name} (pid {server.ProcessId}) stopped unexpectedly; its log is "
                            + $"{server.LogFile}. Stopping the other servers.");
                        return 1;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("Stopping...");
            }
            return 0;
        });
        return new Command("stack", "Local stand-ins for the Azure services") { up };
    }
}
