using System.Diagnostics;
using System.Globalization;
namespace Pdm.LocalStack;

/// <summary>
/// The edge module as its own process (the build in .pdm/build/edge), in local mode against the stack's Mosquitto with
/// a gateway's credentials and a configuration file: what a gateway runs, minus the container. Its log goes to a file.
/// When it dies, <see cref="Restart"/> starts it again with the same settings, as the IoT Edge runtime would. The demo
/// and the edge benchmark both run it.
/// </summary>
public sealed class EdgeModuleProcess : IAsyncDisposable
{
    private readonly ProcessStartInfo _startInfo;
    private readonly StreamWriter _log;
    private Process _process;

    private EdgeModuleProcess(ProcessStartInfo startInfo, StreamWriter log, string logFile)
    {
        _startInfo = startInfo;
        _log = log;
        LogFile = logFile;
        _process = Launch(startInfo, log);
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code of the last run (a signal shows as 128 + its number); only valid once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    public string LogFile { get; }

    /// <param name="moduleDirectory">The edge module's build (./pdm passes it as PDM_EDGE_DIR).</param>
    public static EdgeModuleProcess Start(string moduleDirectory, string dataDirectory, string configurationFile, int mqttPort, string deviceId,
        string password, string logFile, TimeSpan statusInterval)
    {
        var module = Path.Combine(moduleDirectory, "Pdm.EdgeModule.dll");
        if (!File.Exists(module))
        {
            throw new InvalidOperationException($"The edge module is not built at {module}; run the command through ./pdm.");
        }
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["Edge__DataDirectory"] = dataDirectory,
                ["Edge__ConfigurationFile"] = configurationFile,
                ["Edge__StatusInterval"] = statusInterval.ToString("c", CultureInfo.InvariantCulture),
                ["Cloud__Mode"] = "Local",
                ["Cloud__LocalPort"] = mqttPort.ToString(CultureInfo.InvariantCulture),
                ["Cloud__LocalDeviceId"] = deviceId,
                ["Cloud__LocalPassword"] = password,
                ["Logging__Console__FormatterName"] = "simple",
            },
        };
        startInfo.ArgumentList.Add(module);
        return Run(startInfo, logFile);
    }

    /// <summary>Runs <paramref name="startInfo"/> (output redirected) with its output appended to <paramref name="logFile"/>.</summary>
    public static EdgeModuleProcess Run(ProcessStartInfo startInfo, string logFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        return new EdgeModuleProcess(startInfo, log, logFile);
    }

    /// <summary>Starts the module again after it exited; its queue on disk carries on where it stopped.</summary>
    public void Restart()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException($"The edge module (pid {_process.Id}) is still running.");
        }
        Write(_log, $"--- pdm: the module exited with code {_process.ExitCode}; restarting it ---");
        _process.Dispose();
        _process = Launch(_startInfo, _log);
    }

    private static Process Launch(ProcessStartInfo startInfo, StreamWriter log)
    {
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start the edge module.");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            log.WriteLine(line);
        }
    }

    /// <summary>User plus system CPU time the module has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Resident memory now, in MB (from /proc).</summary>
    public double ResidentMb => ProcStatusMb("VmRSS:");

    /// <summary>Peak resident memory so far, in MB.</summary>
    public double PeakResidentMb => ProcStatusMb("VmHWM:");

    private double ProcStatusMb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kilobytes = long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kilobytes / 1024.0;
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await Signals.TerminateAsync(_process, TimeSpan.FromSeconds(15), CancellationToken.None);
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}
