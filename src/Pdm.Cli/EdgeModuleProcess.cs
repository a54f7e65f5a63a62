using System.Diagnostics;
using System.Globalization;
using Pdm.LocalStack;

namespace Pdm.Cli;

/// <summary>
/// The edge module as its own process (the build in .pdm/build/edge), in local mode against the stack's Mosquitto with
/// a gateway's credentials and a configuration file: what a gateway runs, minus the container. Its log goes to a file.
/// </summary>
internal sealed class EdgeModuleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private EdgeModuleProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public static EdgeModuleProcess Start(string dataDirectory, string configurationFile, int mqttPort, string deviceId, string password,
        string logFile, TimeSpan statusInterval)
    {
        var module = Path.Combine(CliPaths.EdgeModule, "Pdm.EdgeModule.dll");
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
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start the edge module.");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new EdgeModuleProcess(process, log);
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
