using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace Pdm.LocalStack;

/// <summary>
/// Runs Azurite (the npm storage emulator) on loopback ports with its state in a given folder, for tests and the
/// dev host. Telemetry is off: this machine must not talk to outside hosts.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's well-known, public account key.</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const int KeptOutputLines = 200;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly string _stateDirectory;
    private readonly string _azuriteExecutable;
    private readonly int _blobPort;
    private readonly int _queuePort;
    private readonly int _tablePort;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public AzuriteServer(string stateDirectory, string azuriteExecutable, int blobPort, int queuePort, int tablePort)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentException.ThrowIfNullOrEmpty(azuriteExecutable);
        _stateDirectory = Path.GetFullPath(stateDirectory);
        _azuriteExecutable = azuriteExecutable;
        _blobPort = blobPort;
        _queuePort = queuePort;
        _tablePort = tablePort;
    }

    public Uri BlobEndpoint => Endpoint(_blobPort);

    public Uri QueueEndpoint => Endpoint(_queuePort);

    public Uri TableEndpoint => Endpoint(_tablePort);

    /// <summary>The node process, or null when not running.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The explicit devstoreaccount1 form (UseDevelopmentStorage=true only fits the default ports).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
        + $"BlobEndpoint={BlobEndpoint.AbsoluteUri};QueueEndpoint={QueueEndpoint.AbsoluteUri};"
        + $"TableEndpoint={TableEndpoint.AbsoluteUri};";

    /// <summary>The last lines Azurite wrote to stdout and stderr.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    /// <summary>Everything Azurite wrote to stdout and stderr (it runs --silent: errors and start-up lines only).</summary>
    public string LogFile => Path.Combine(_stateDirectory, "azurite.log");

    /// <summary>The azurite launcher the project's setup installs, or null when it is not installed.</summary>
    public static string? FindExecutable(string repoRoot)
    {
        ArgumentNullException.ThrowIfNull(repoRoot);
        var path = Path.Combine(repoRoot, ".pdm", "tools", "node_modules", ".bin", "azurite");
        return File.Exists(path) ? path : null;
    }

    /// <summary>Starts Azurite and returns once the blob, queue and table ports all answer HTTP.</summary>
    /// <exception cref="InvalidOperationException">Azurite exited or did not answer in time; the message holds its output.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("This Azurite server was already started.");
        }

        Directory.CreateDirectory(_stateDirectory);
        var startInfo = new ProcessStartInfo(_azuriteExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--silent", "--location", _stateDirectory,
            "--blobHost", "127.0.0.1", "--blobPort", Port(_blobPort),
            "--queueHost", "127.0.0.1", "--queuePort", Port(_queuePort),
            "--tableHost", "127.0.0.1", "--tablePort", Port(_tablePort),
            "--skipApiVersionCheck", "--loose", "--disableTelemetry",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"Cannot run Azurite at {_azuriteExecutable}: {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        try
        {
            await WaitUntilReadyAsync(process, cancellationToken);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Asks Azurite to shut down (it saves its state), and kills it if it has not exited after a grace period.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        _process = null;
        using (process)
        {
            await Signals.TerminateAsync(process, StopGrace, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private async Task WaitUntilReadyAsync(Process process, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var pending = new List<Uri> { BlobEndpoint, QueueEndpoint, TableEndpoint };
        try
        {
            while (pending.Count > 0)
            {
                if (process.HasExited)
                {
                    // Exited is seen before the last output lines are delivered; wait for both streams to end.
                    await process.WaitForExitAsync(timeout.Token);
                    throw new InvalidOperationException(
                        $"Azurite exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)} before it was ready. "
                        + $"Output:{Environment.NewLine}{RecentOutput}");
                }

                // Any HTTP answer means the port is served: an unsigned request gets 403 (or 400), and that is fine.
                for (int i = pending.Count - 1; i >= 0; i--)
                {
                    try
                    {
                        using var response = await http.GetAsync(pending[i], timeout.Token);
                        pending.RemoveAt(i);
                    }
                    catch (HttpRequestException)
                    {
                        // Not listening yet.
                    }
                }

                if (pending.Count > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Azurite did not answer on {string.Join(", ", pending)} within {StartTimeout.TotalSeconds} s. "
                + $"Output:{Environment.NewLine}{RecentOutput}");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        lock (_output)
        {
            File.AppendAllText(LogFile, line + Environment.NewLine);
        }
        while (_output.Count > KeptOutputLines && _output.TryDequeue(out _))
        {
        }
    }

    private static Uri Endpoint(int port) => new($"http://127.0.0.1:{Port(port)}/{AccountName}");

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
