using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Pdm.DevHost.Handler;

/// <summary>How to start the custom handler, resolved from options and host.json.</summary>
internal sealed record HandlerStartInfo
{
    public required string Command { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    public required string WorkingDirectory { get; init; }
    public required string AppRoot { get; init; }
    public required IReadOnlyDictionary<string, string> Settings { get; init; }
    public required TimeSpan InitializationTimeout { get; init; }
}

/// <summary>
/// Runs the custom handler as a child process the way the Functions host does: a free port and the worker
/// variables in its environment, readiness when GET / gets any answer, output into our log, and a restart
/// with backoff when it dies.
/// </summary>
internal sealed partial class HandlerProcess : IAsyncDisposable
{
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StableUptime = TimeSpan.FromMinutes(1);

    private readonly HandlerStartInfo _startInfo;
    private readonly DevHostCounters _counters;
    private readonly ILogger _logger;
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _workerId = Guid.NewGuid().ToString();
    private Process? _process;
    private Uri _baseAddress = new("http://127.0.0.1/");
    private Task? _supervisor;

    public HandlerProcess(HandlerStartInfo startInfo, DevHostCounters counters, ILogger logger)
    {
        _startInfo = startInfo;
        _counters = counters;
        _logger = logger;
    }

    /// <summary>Where the handler listens now; changes when it is restarted.</summary>
    public Uri BaseAddress => Volatile.Read(ref _baseAddress);

    /// <summary>VmHWM of the running handler from /proc: the most memory it has held so far.</summary>
    public double PeakResidentMegabytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process?.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            var kilobytes = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kilobytes is null ? 0 : double.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) / 1024;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>CPU time (user and system) the running handler process has used since it started; zero when none runs.</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            var process = _process;
            process?.Refresh();
            return process?.TotalProcessorTime ?? TimeSpan.Zero;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await LaunchAsync(cancellationToken);
        _supervisor = SuperviseAsync(_stopping.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_supervisor is not null)
        {
            await _supervisor;
        }

        Kill(_process);
        _process?.Dispose();
        _probe.Dispose();
        _stopping.Dispose();
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var port = PickFreePort();
        var process = new Process { StartInfo = CreateStartInfo(port), EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _logger.HandlerOutput(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _logger.HandlerError(e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new DevHostException($"Cannot start the handler '{_startInfo.Command}' in {_startInfo.WorkingDirectory}: {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        _logger.HandlerStarting(_startInfo.Command, process.Id, port);
        try
        {
            await WaitUntilReadyAsync(process, baseAddress, cancellationToken);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }

        var previous = Interlocked.Exchange(ref _process, process);
        previous?.Dispose();
        Volatile.Write(ref _baseAddress, baseAddress);
        _logger.HandlerReady(baseAddress);
    }

    private ProcessStartInfo CreateStartInfo(int port)
    {
        var info = new ProcessStartInfo(_startInfo.Command)
        {
            WorkingDirectory = _startInfo.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in _startInfo.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in _startInfo.Settings)
        {
            info.Environment[name] = value;
        }

        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = portText;
        info.Environment["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"] = _workerId;
        info.Environment["FUNCTIONS_APP_ROOT_PATH"] = _startInfo.AppRoot;
        info.Environment["FUNCTIONS_HTTPWORKER_PORT"] = portText;
        info.Environment["FUNCTIONS_HTTPWORKER_ID"] = _workerId;
        return info;
    }

    private async Task WaitUntilReadyAsync(Process process, Uri baseAddress, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_startInfo.InitializationTimeout);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                if (process.HasExited)
                {
                    throw new DevHostException(
                        $"The handler '{_startInfo.Command}' exited with code {process.ExitCode} before answering on {baseAddress}");
                }

                try
                {
                    // Any HTTP answer, a 404 included, means the server is up; only connection failures mean "not yet".
                    using var response = await _probe.GetAsync(baseAddress, timeout.Token);
                    return;
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!timeout.IsCancellationRequested)
                {
                }
            }
            while (await poll.WaitForNextTickAsync(timeout.Token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new DevHostException(
            $"The handler '{_startInfo.Command}' did not answer on {baseAddress} within {_startInfo.InitializationTimeout} "
            + "(customHandler.initializationTimeout); it must listen on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT");
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromSeconds(1);
        var startedAt = Stopwatch.StartNew();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _process!.WaitForExitAsync(stopping);
                _logger.HandlerExited(_process.ExitCode, delay);
                if (startedAt.Elapsed > StableUptime)
                {
                    delay = TimeSpan.FromSeconds(1);
                }

                await Task.Delay(delay, stopping);
                delay = delay * 2 > MaxRestartDelay ? MaxRestartDelay : delay * 2;
                await LaunchAsync(stopping);
                _counters.HandlerRestarted();
                startedAt.Restart();
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (DevHostException ex)
            {
                // The old process stays in _process and has exited, so the loop waits the next backoff and tries again.
                _logger.HandlerRestartFailed(ex);
            }
        }
    }

    private static void Kill(Process? process)
    {
        try
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill: nothing left to stop.
        }
    }

    private static int PickFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Starting handler {Command} (pid {ProcessId}) on port {Port}")]
    public static partial void HandlerStarting(this ILogger logger, string command, int processId, int port);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Handler ready at {BaseAddress}")]
    public static partial void HandlerReady(this ILogger logger, Uri baseAddress);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "handler: {Line}")]
    public static partial void HandlerOutput(this ILogger logger, string line);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "handler stderr: {Line}")]
    public static partial void HandlerError(this ILogger logger, string line);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Error, Message = "Handler exited unexpectedly with code {ExitCode}; restarting in {Delay}")]
    public static partial void HandlerExited(this ILogger logger, int exitCode, TimeSpan delay);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Error, Message = "Handler restart failed")]
    public static partial void HandlerRestartFailed(this ILogger logger, Exception exception);
}
