using System.Diagnostics;
using System.Text.Json;

namespace Pdm.LocalStack;

/// <summary>Where the local stand-ins listen, written to <c>stack.json</c> so other processes can find them.</summary>
public sealed record StackEndpoints
{
    public required string StateDirectory { get; init; }
    public required string PostgresSuperuserConnectionString { get; init; }
    public required int PostgresPort { get; init; }
    /// <summary>The device endpoint: devices connect here with their own credentials (client id = device id).</summary>
    public required int MqttPort { get; init; }
    /// <summary>The platform's listener: the service user connects here, with a <c>pdm-</c> client id.</summary>
    public required int MqttServicePort { get; init; }
    public required string MqttServiceUser { get; init; }
    public required string MqttServicePassword { get; init; }
    public required string MosquittoPasswordFile { get; init; }
    public required string MosquittoAclFile { get; init; }
    public required string MosquittoPidFile { get; init; }
    public required string StorageConnectionString { get; init; }
    /// <summary>Where the IoT Hub registry stand-in listens (http on 127.0.0.1): the registry client's endpoint override.</summary>
    public required string IotHubRegistryEndpoint { get; init; }
    /// <summary>The stand-in's registryReadWrite policy connection string; its key is new with every start of the stack.</summary>
    public required string IotHubRegistryConnectionString { get; init; }
}

/// <summary>A server of the stack that is gone although nobody stopped it: which one, and where its log is.</summary>
public sealed record StoppedServer(string Name, int ProcessId, string LogFile);

/// <summary>
/// PostgreSQL, Mosquitto and Azurite on 127.0.0.1, with their state under one folder, started together and
/// stopped together, and IoT Hub's registry REST API in this process over the broker's device files. A watchdog process stops them too if the owning process dies without cleaning up
/// (a crashed test host, a killed CLI), so no server outlives its run.
/// </summary>
public sealed class LocalServers : IAsyncDisposable
{
    private readonly Process? _watchdog;
    private readonly IReadOnlyList<StoppedServer> _running;
    private int _stopped;

    private LocalServers(string stateDirectory, PostgresServer postgres, MosquittoBroker mosquitto, AzuriteServer azurite,
        IotHubRegistryStandIn registry, Process? watchdog)
    {
        Registry = registry;
        StateDirectory = stateDirectory;
        Postgres = postgres;
        Mosquitto = mosquitto;
        Azurite = azurite;
        _watchdog = watchdog;
        _running =
        [
            .. new (string Name, int? Pid, string Log)[]
            {
                ("PostgreSQL", postgres.ProcessId, postgres.LogFile),
                ("Mosquitto", mosquitto.ProcessId, mosquitto.LogFile),
                ("Azurite", azurite.ProcessId, azurite.LogFile),
            }.Where(s => s.Pid is not null).Select(s => new StoppedServer(s.Name, s.Pid!.Value, s.Log)),
        ];
        Endpoints = new StackEndpoints
        {
            StateDirectory = stateDirectory,
            PostgresSuperuserConnectionString = postgres.SuperuserConnectionString,
            PostgresPort = postgres.Port,
            MqttPort = mosquitto.Port,
            MqttServicePort = mosquitto.ServicePort,
            MqttServiceUser = mosquitto.ServiceUser,
            MqttServicePassword = mosquitto.ServicePassword,
            MosquittoPasswordFile = mosquitto.PasswordFile,
            MosquittoAclFile = mosquitto.AclFile,
            MosquittoPidFile = mosquitto.PidFile,
            StorageConnectionString = azurite.ConnectionString,
            IotHubRegistryEndpoint = registry.Endpoint.ToString(),
            IotHubRegistryConnectionString = registry.ConnectionString,
        };
    }

    public string StateDirectory { get; }
    public PostgresServer Postgres { get; }
    public MosquittoBroker Mosquitto { get; }
    public AzuriteServer Azurite { get; }
    public IotHubRegistryStandIn Registry { get; }
    public StackEndpoints Endpoints { get; }

    public static string EndpointsFile(string stateDirectory) => Path.Combine(stateDirectory, "stack.json");

    /// <summary>Starts all three servers on free ports (in parallel) and waits until each answers.</summary>
    public static async Task<LocalServers> StartAsync(string stateDirectory, string repoRoot, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(stateDirectory);
        var azuriteExecutable = AzuriteServer.FindExecutable(repoRoot)
            ?? throw new InvalidOperationException(
                $"Azurite is not installed under {repoRoot}/.pdm/tools; run scripts/setup.sh (./pdm does it for you).");

        var postgres = new PostgresServer(Path.Combine(stateDirectory, "postgres"), FreePort.Pick());
        var mosquitto = new MosquittoBroker(Path.Combine(stateDirectory, "mosquitto"), FreePort.Pick());
        var azurite = new AzuriteServer(Path.Combine(stateDirectory, "azurite"), azuriteExecutable,
            FreePort.Pick(), FreePort.Pick(), FreePort.Pick());
        try
        {
            await Task.WhenAll(
                postgres.StartAsync(cancellationToken),
                mosquitto.StartAsync(cancellationToken),
                azurite.StartAsync(cancellationToken));
        }
        catch
        {
            await StopQuietlyAsync(postgres, mosquitto, azurite);
            throw;
        }

        IotHubRegistryStandIn registry;
        try
        {
            registry = await IotHubRegistryStandIn.StartAsync(mosquitto.DeviceRegistry(), 0, loggerFactory: null, cancellationToken);
        }
        catch
        {
            await StopQuietlyAsync(postgres, mosquitto, azurite);
            throw;
        }

        var watchdog = StartWatchdog(postgres, mosquitto, azurite);
        var stack = new LocalServers(stateDirectory, postgres, mosquitto, azurite, registry, watchdog);
        // It holds the broker's service password: owner only, like the broker's own credential files.
        OwnerOnlyFile.Write(EndpointsFile(stateDirectory), JsonSerializer.Serialize(stack.Endpoints, StackJson.Indented));
        return stack;
    }

    /// <summary>Reads the endpoints of a stack another process started, or null when there is none.</summary>
    public static StackEndpoints? ReadEndpoints(string stateDirectory)
    {
        var file = EndpointsFile(stateDirectory);
        return File.Exists(file) ? JsonSerializer.Deserialize<StackEndpoints>(File.ReadAllText(file), StackJson.Indented) : null;
    }

    /// <summary>
    /// The first server that has exited (crashed, killed) while the stack was meant to be up, or null when all run.
    /// Cheap enough to call every second: it reads one /proc entry per server.
    /// </summary>
    public StoppedServer? FindStoppedServer() =>
        Volatile.Read(ref _stopped) == 1 ? null : _running.FirstOrDefault(server => !Signals.IsRunning(server.ProcessId));

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        await Registry.DisposeAsync();
        await StopQuietlyAsync(Postgres, Mosquitto, Azurite);
        File.Delete(EndpointsFile(StateDirectory));
        if (_watchdog is { HasExited: false })
        {
            _watchdog.Kill();
        }
        _watchdog?.Dispose();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private static async Task StopQuietlyAsync(PostgresServer postgres, MosquittoBroker mosquitto, AzuriteServer azurite)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Task.WhenAll(
            Quietly(postgres.StopAsync(timeout.Token)),
            Quietly(mosquitto.StopAsync(timeout.Token)),
            Quietly(azurite.StopAsync(timeout.Token)));

        static async Task Quietly(Task stop)
        {
            try
            {
                await stop;
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
            {
                // Stopping is best effort: one server that will not stop must not keep the others running.
            }
        }
    }

    /// <summary>
    /// A detached shell that waits for this process to disappear and then stops the servers. Started in its
    /// own session (setsid) so a Ctrl-C to the foreground group does not take it down before it has cleaned up.
    /// </summary>
    private static Process? StartWatchdog(PostgresServer postgres, MosquittoBroker mosquitto, AzuriteServer azurite)
    {
        var pids = new[] { mosquitto.ProcessId, azurite.ProcessId }.Where(p => p is > 0).Select(p => p!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var postmaster = postgres.ProcessId is > 0 ? $"kill -INT {postgres.ProcessId} 2>/dev/null;" : "";
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {postmaster} kill {string.Join(' ', pids)} 2>/dev/null; exit 0";
        var start = new ProcessStartInfo("setsid", ["bash", "-c", script])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        try
        {
            return Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no setsid: cleanup then relies on the normal stop path only
        }
    }
}

internal static class StackJson
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
