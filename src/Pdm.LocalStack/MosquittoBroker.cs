using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Pdm.LocalStack;

/// <summary>
/// Debian's Mosquitto 2.0 on 127.0.0.1 as the local stand-in for IoT Hub's MQTT endpoint: no anonymous access,
/// users in a password file, topics in an ACL file. Devices are added to both files by the device registry, which
/// then asks the broker to reload (SIGHUP). A service user may read and write every <c>devices/#</c> topic.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    public const string DefaultServiceUser = "pdm-service";

    private const string MosquittoExecutable = "/usr/sbin/mosquitto";
    private const string PasswdExecutable = "/usr/bin/mosquitto_passwd";
    private const string ReloadLogLine = "Reloading config.";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly string _stateDirectory;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public MosquittoBroker(string stateDirectory, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _stateDirectory = Path.GetFullPath(stateDirectory);
        Port = port;
        ConfigFile = Path.Combine(_stateDirectory, "mosquitto.conf");
        PasswordFile = Path.Combine(_stateDirectory, "passwords");
        AclFile = Path.Combine(_stateDirectory, "acl");
        PidFile = Path.Combine(_stateDirectory, "mosquitto.pid");
        LogFile = Path.Combine(_stateDirectory, "mosquitto.log");
        // A new password per broker object; StartAsync writes it into the password file every time.
        ServicePassword = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    }

    public int Port { get; }
    public string ConfigFile { get; }
    public string PasswordFile { get; }
    public string AclFile { get; }
    public string PidFile { get; }
    public string LogFile { get; }
    public string ServiceUser { get; } = DefaultServiceUser;
    public string ServicePassword { get; }

    /// <summary>Process id of the running broker; null when it is not running.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>
    /// Writes the configuration, puts the service user into the password and ACL files (keeping any devices already
    /// there), starts the broker and waits until the service user can connect.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (ProcessId is not null)
        {
            throw new InvalidOperationException($"Mosquitto is already running on port {Port} (pid {ProcessId}).");
        }
        Directory.CreateDirectory(_stateDirectory);
        await SetServicePasswordAsync(cancellationToken);
        EnsureServiceAcl();
        await File.WriteAllTextAsync(ConfigFile, Configuration(), cancellationToken);
        // A pid file left by a crashed run would point the registry's SIGHUP at an unrelated process.
        File.Delete(PidFile);

        var startInfo = new ProcessStartInfo(MosquittoExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _stateDirectory,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(ConfigFile);
        lock (_output)
        {
            _output.Clear();
        }
        var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {MosquittoExecutable}.");
        process.OutputDataReceived += (_, e) => AppendOutput(e.Data);
        process.ErrorDataReceived += (_, e) => AppendOutput(e.Data);
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

    /// <summary>Stops the broker with SIGTERM, and kills it when it has not exited within a few seconds.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }
        _process = null;
        using (process)
        {
            await Signals.TerminateAsync(process, StopTimeout, cancellationToken);
        }
    }

    /// <summary>Asks the broker to re-read its password and ACL files (SIGHUP) and waits until it has.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var pid = ProcessId ?? throw new InvalidOperationException($"Mosquitto on port {Port} is not running.");
        var reloadsBefore = CountReloads();
        if (!Signals.Send(pid, Signals.Hangup))
        {
            throw new InvalidOperationException($"SIGHUP to Mosquitto (pid {pid}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReloadTimeout);
        try
        {
            while (CountReloads() <= reloadsBefore)
            {
                await Task.Delay(PollInterval, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Mosquitto (pid {pid}) did not log a reload within {ReloadTimeout.TotalSeconds:0} s.\n{Diagnostics()}");
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private string Configuration()
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        return $"""
            # Written by Pdm.LocalStack.MosquittoBroker; rewritten on every start.
            per_listener_settings false
            listener {port} 127.0.0.1
            allow_anonymous false
            password_file {PasswordFile}
            acl_file {AclFile}
            pid_file {PidFile}
            # Like IoT Hub, keep what was accepted for a subscriber with a persistent session across a restart.
            persistence true
            persistence_location {_stateDirectory}/
            log_dest file {LogFile}
            log_type error
            log_type warning
            log_type notice
            log_type information
            connection_messages true
            # Mosquitto drops to the 'mosquitto' user otherwise, and could then not read the root-owned state files.
            user root
            # Room for a slow subscriber during load tests (the default is 1000 messages per client).
            max_queued_messages 100000
            max_inflight_messages 1000

            """;
    }

    private async Task SetServicePasswordAsync(CancellationToken cancellationToken)
    {
        // mosquitto_passwd writes the hash format this Mosquitto version expects.
        var startInfo = new ProcessStartInfo(PasswdExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!File.Exists(PasswordFile))
        {
            startInfo.ArgumentList.Add("-c");
        }
        foreach (var argument in (string[])["-b", PasswordFile, ServiceUser, ServicePassword])
        {
            startInfo.ArgumentList.Add(argument);
        }
        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {PasswdExecutable}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"mosquitto_passwd failed with exit code {process.ExitCode} for {PasswordFile}: {(await stdout + await stderr).Trim()}");
        }
    }

    /// <summary>Adds the service user's ACL block unless it is there; device blocks written by the registry stay.</summary>
    private void EnsureServiceAcl()
    {
        var userLine = $"user {ServiceUser}";
        var existing = File.Exists(AclFile) ? File.ReadAllLines(AclFile) : [];
        if (existing.Any(line => string.Equals(line.Trim(), userLine, StringComparison.Ordinal)))
        {
            return;
        }
        var content = new StringBuilder()
            .AppendLine(userLine)
            .AppendLine("topic readwrite devices/#")
            .AppendLine();
        foreach (var line in existing)
        {
            content.AppendLine(line);
        }
        var temporary = AclFile + ".tmp";
        File.WriteAllText(temporary, content.ToString());
        File.Move(temporary, AclFile, overwrite: true);
    }

    private async Task WaitUntilReadyAsync(Process process, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException(
                        $"Mosquitto exited with code {process.ExitCode} while starting on port {Port}.\n{Diagnostics()}");
                }
                var returnCode = await TryConnectAsync(timeout.Token);
                if (returnCode == 0)
                {
                    return;
                }
                if (returnCode is not null)
                {
                    throw new InvalidOperationException(
                        $"Mosquitto on port {Port} refused the service user (CONNACK code {returnCode}).\n{Diagnostics()}");
                }
                await Task.Delay(PollInterval, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Mosquitto did not accept an MQTT connection on port {Port} within {StartTimeout.TotalSeconds:0} s.\n{Diagnostics()}");
        }
    }

    /// <summary>
    /// A real MQTT 3.1.1 CONNECT as the service user: the CONNACK return code, or null when nothing listens yet.
    /// Written by hand because this project must not depend on the messaging library it helps to test.
    /// </summary>
    private async Task<int?> TryConnectAsync(CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync("127.0.0.1", Port, cancellationToken);
        }
        catch (SocketException)
        {
            return null;
        }
        var stream = tcp.GetStream();
        await stream.WriteAsync(ConnectPacket($"pdm-probe-{Guid.NewGuid():N}", ServiceUser, ServicePassword), cancellationToken);
        var connack = new byte[4];
        try
        {
            await stream.ReadExactlyAsync(connack, cancellationToken);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return null;
        }
        if (connack[0] != 0x20 || connack[1] != 0x02)
        {
            throw new InvalidOperationException($"Unexpected answer to CONNECT on port {Port}: {Convert.ToHexString(connack)}.");
        }
        await stream.WriteAsync(new byte[] { 0xE0, 0x00 }, cancellationToken); // DISCONNECT
        return connack[3];
    }

    private static byte[] ConnectPacket(string clientId, string user, string password)
    {
        var body = new List<byte>();
        AddString(body, "MQTT");
        body.Add(4);    // protocol level 3.1.1
        body.Add(0xC2); // user name, password, clean session
        body.Add(0);
        body.Add(10);   // keep-alive seconds
        AddString(body, clientId);
        AddString(body, user);
        AddString(body, password);

        var packet = new List<byte> { 0x10 };
        var remaining = body.Count;
        do
        {
            var digit = (byte)(remaining % 128);
            remaining /= 128;
            packet.Add(remaining > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (remaining > 0);
        packet.AddRange(body);
        return [.. packet];

        static void AddString(List<byte> target, string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Span<byte> length = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)bytes.Length);
            target.AddRange(length);
            target.AddRange(bytes);
        }
    }

    private int CountReloads()
    {
        try
        {
            return File.Exists(LogFile)
                ? File.ReadLines(LogFile).Count(line => line.EndsWith(ReloadLogLine, StringComparison.Ordinal))
                : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void AppendOutput(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private string Diagnostics()
    {
        string output;
        lock (_output)
        {
            output = _output.ToString().Trim();
        }
        string logTail;
        try
        {
            logTail = File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(30)) : "(no log file)";
        }
        catch (IOException ex)
        {
            logTail = $"(log unreadable: {ex.Message})";
        }
        return $"--- mosquitto output ---\n{output}\n--- log tail ({LogFile}) ---\n{logTail}";
    }
}
