using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.Modbus.Tests;

/// <summary>
/// jsmodbus 5.0.0 (npm, installed into .pdm/tools by scripts/setup.sh) serving Modbus TCP on a free loopback port
/// from node, with values encoded by Node's own Buffer writers. Missing node or jsmodbus fails the test: the interop
/// check is the point, and `./pdm test` installs both first.
/// </summary>
public sealed class JsModbusPeer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _errors = [];
    private readonly string _valuesFile;

    private JsModbusPeer(Process process, string valuesFile, int port)
    {
        _process = process;
        _valuesFile = valuesFile;
        Endpoint = new ModbusTcpEndpoint("127.0.0.1", port);
    }

    public ModbusTcpEndpoint Endpoint { get; }

    /// <summary>Starts the peer with <paramref name="values"/> (see jsmodbus-peer.js) and waits until it listens.</summary>
    public static async Task<JsModbusPeer> StartAsync(JsonObject values)
    {
        var modules = Path.Combine(RepoPaths.Root, ".pdm", "tools", "node_modules");
        if (!File.Exists(Path.Combine(modules, "jsmodbus", "package.json")))
        {
            throw new InvalidOperationException(
                $"jsmodbus is not installed in {modules}: run scripts/setup.sh (./pdm test does) to install the Modbus test peer.");
        }

        var port = FreePort.Pick();
        var valuesFile = Path.Combine(Path.GetTempPath(), $"pdm-jsmodbus-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(valuesFile, values.ToJsonString());
        var startInfo = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["NODE_PATH"] = modules },
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jsmodbus-peer.js"));
        startInfo.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        startInfo.ArgumentList.Add(valuesFile);

        var process = new Process { StartInfo = startInfo };
        var peer = new JsModbusPeer(process, valuesFile, port);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                peer._lines.Writer.TryWrite(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (peer._errors)
                {
                    peer._errors.Add(e.Data);
                }
            }
        };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            File.Delete(valuesFile);
            process.Dispose();
            throw new InvalidOperationException($"Cannot run node (Node 20 is required for the Modbus interop tests): {ex.Message}", ex);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await peer.WaitForLineAsync($"listening {port}", StartTimeout);
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
        return peer;
    }

    /// <summary>The next output line starting with <paramref name="prefix"/>; earlier lines are skipped.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException)
        {
            var exited = _process.HasExited ? $" node exited with {_process.ExitCode}." : "";
            throw new TimeoutException($"jsmodbus peer printed no '{prefix}' line within {timeout}.{exited} stderr: {Errors()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            File.Delete(_valuesFile);
        }
    }

    private string Errors()
    {
        lock (_errors)
        {
            return string.Join(Environment.NewLine, _errors);
        }
    }
}
