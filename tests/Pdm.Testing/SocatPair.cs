using System.ComponentModel;
using System.Diagnostics;

namespace Pdm.Testing;

/// <summary>Two linked pseudo terminals from socat, a serial cable in software: what one end writes, the other reads.</summary>
public sealed class SocatPair : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly string _directory;

    private SocatPair(Process process, string directory)
    {
        _process = process;
        _directory = directory;
    }

    public string PortA => Path.Combine(_directory, "ttyA");

    public string PortB => Path.Combine(_directory, "ttyB");

    public static async Task<SocatPair> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("pdm-socat-").FullName;
        var startInfo = new ProcessStartInfo("socat") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "-d", "-d",
            $"pty,raw,echo=0,link={Path.Combine(directory, "ttyA")}",
            $"pty,raw,echo=0,link={Path.Combine(directory, "ttyB")}",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new List<string>();
        var process = new Process { StartInfo = startInfo };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (output)
            {
                output.Add(e.Data);
            }
            // socat says this once both terminals and their links exist.
            if (e.Data.Contains("starting data transfer loop", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException($"Cannot run socat (scripts/setup.sh installs it): {ex.Message}", ex);
        }
        process.BeginErrorReadLine();

        var pair = new SocatPair(process, directory);
        try
        {
            await ready.Task.WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            await pair.DisposeAsync();
            lock (output)
            {
                throw new TimeoutException($"socat did not link two terminals within {StartTimeout}: {string.Join(Environment.NewLine, output)}");
            }
        }
        return pair;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
