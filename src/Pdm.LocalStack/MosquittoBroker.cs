using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Pdm.LocalStack;

/// <summary>
/// Debian's Mosquitto 2.0 on 127.0.0.1 as the local stand-in for IoT Hub's MQTT endpoint, with two listeners:
/// <list type="bullet">
/// <item><see cref="Port"/>, the device endpoint: device users only (the device registry adds them to
/// <see cref="PasswordFile"/> and <see cref="AclFile"/> and asks the broker to reload with SIGHUP). As on IoT Hub, a
/// device's client id is its device id whatever it sends (<c>use_username_as_clientid</c>), so it can only ever
/// replace its own older session, never another device's or the platform's.</item>
/// <item><see cref="ServicePort"/>, the platform's side (the dev host, tools, tests): only the service user, from files
/// this class owns and rewrites on every start, allowed to read and write every <c>devices/#</c> topic. Clients here
/// choose their client id; they must use ids in the platform's namespace (<c>pdm-</c>), which no device can hold.</item>
/// </list>
/// Every credential and ACL file is mode 0600. A PUBLISH larger than IoT Hub's 256 KB message limit (plus room for
/// the topic) disconnects its sender and is not delivered.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    public const string DefaultServiceUser = "pdm-service";

    /// <summary>IoT Hub's device-to-cloud message limit (body and properties).</summary>
    public const int MaxMessageBytes = 256 * 1024;

    /// <summary>
    /// Largest PUBLISH packet the broker takes: <see cref="MaxMessageBytes"/> plus the fixed header and the topic's
    /// skeleton (<c>devices/&lt;128-character id&gt;/messages/events/</c>); IoT Hub counts properties in its limit.
    /// </summary>
    public const int MaxPacketBytes = MaxMessageBytes + 512;

    private const string PlatformPrefix = "pdm-";
    private const int BadUserNameOrPassword = 4;
    private const int NotAuthorized = 5;

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

    /// <param name="port">the device listener</param>
    /// <param name="servicePort">the platform's listener; 0 picks a free port</param>
    public MosquittoBroker(string stateDirectory, int port, int servicePort = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfNegative(servicePort);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(servicePort, 65535);
        _stateDirectory = Path.GetFullPath(stateDirectory);
        Port = port;
        ServicePort = servicePort != 0 ? servicePort : PickOtherFreePort(port);
        ConfigFile = Path.Combine(_stateDirectory, "mosquitto.conf");
        PasswordFile = Path.Combine(_stateDirectory, "passwords");
        AclFile = Path.Combine(_stateDirectory, "acl");
        ServicePasswordFile = Path.Combine(_stateDirectory, "service-passwords");
        ServiceAclFile = Path.Combine(_stateDirectory, "service-acl");
        PidFile = Path.Combine(_stateDirectory, "mosquitto.pid");
        LogFile = Path.Combine(_stateDirectory, "mosquitto.log");
        // A new password per broker object; StartAsync writes it into the password file every time.
        ServicePassword = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    }

    /// <summary>The device endpoint (IoT Hub's MQTT endpoint locally): device users, client id = device id.</summary>
    public int Port { get; }

    /// <summary>The platform's listener: the service user only.</summary>
    public int ServicePort { get; }

    public string ConfigFile { get; }

    /// <summary>Device users; the device registry edits it.</summary>
    public string PasswordFile { get; }

    /// <summary>Device topic rights; the device registry edits it.</summary>
    public string AclFile { get; }

    /// <summary>The service user; written by this class on every start, never by the registry.</summary>
    public string ServicePasswordFile { get; }

    public string ServiceAclFile { get; }
    public string PidFile { get; }
    public string LogFile { get; }
    public string ServiceUser { get; } = DefaultServiceUser;
    public string ServicePassword { get; }

    /// <summary>Process id of the running broker; null when it is not running.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>
    /// A client id for one of the platform's own sessions on <see cref="ServicePort"/>: in the <c>pdm-</c> namespace that
    /// no device id may use, so no device can take the session over.
    /// </summary>
    public static string PlatformClientId(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return name.StartsWith(PlatformPrefix, StringComparison.Ordinal) ? name : PlatformPrefix + name;
    }

    /// <summary>The device identities in this broker's device files (the service account's files are never touched).</summary>
    public MosquittoDeviceRegistry DeviceRegistry() => new(new MosquittoDeviceRegistryOptions
    {
        PasswordFile = PasswordFile,
        AclFile = AclFile,
        PidFile = PidFile,
    });

    /// <summary>
    /// Writes the configuration and the service user's files, keeps the devices already registered (dropping any
    /// platform identity an older version left in the device files), starts the broker and waits until the service
    /// user can connect on <see cref="ServicePort"/> and the device listener answers.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (ProcessId is not null)
        {
            throw new InvalidOperationException($"Mosquitto is already running on port {Port} (pid {ProcessId}).");
        }
        Directory.CreateDirectory(_stateDirectory);
        await SetServicePasswordAsync(cancellationToken);
        OwnerOnlyFile.Write(ServiceAclFile, $"user {ServiceUser}\ntopic readwrite devices/#\n");
        RemovePlatformIdentitiesFromDeviceFiles();
        OwnerOnlyFile.Write(ConfigFile, Configuration());
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
        var servicePort = ServicePort.ToString(CultureInfo.InvariantCulture);
        return $"""
            # Written by Pdm.LocalStack.MosquittoBroker; rewritten on every start.
            # Each listener has its own users and rights: devices never reach the platform's listener, and the
            # service user never connects as a device.
            per_listener_settings true

            # Devices (IoT Hub's device endpoint). As on IoT Hub the client id is the device id: whatever id a device
            # sends, it can only replace its own older session.
            listener {port} 127.0.0.1
            allow_anonymous false
            use_username_as_clientid true
            password_file {PasswordFile}
            acl_file {AclFile}

            # The platform (dev host, tools, tests): the service user only; client ids in the pdm- namespace.
            listener {servicePort} 127.0.0.1
            allow_anonymous false
            password_file {ServicePasswordFile}
            acl_file {ServiceAclFile}

            # IoT Hub takes device-to-cloud messages up to 256 KB; a bigger PUBLISH disconnects its sender.
            max_packet_size {MaxPacketBytes.ToString(CultureInfo.InvariantCulture)}
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
            # Mosquitto started as root drops to the 'mosquitto' user otherwise, and could then not read the 0600
            # state files owned by whoever started it. Started as another user it keeps that user.
            user {Environment.UserName}
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
        // A fresh file every start: it holds the service user and nothing else.
        OwnerOnlyFile.Write(ServicePasswordFile, "");
        foreach (var argument in (string[])["-b", ServicePasswordFile, ServiceUser, ServicePassword])
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
                $"mosquitto_passwd failed with exit code {process.ExitCode} for {ServicePasswordFile}: {(await stdout + await stderr).Trim()}");
        }
        // mosquitto_passwd may replace the file with one of its own; keep it owner-only either way.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(ServicePasswordFile, OwnerOnlyFile.Mode);
        }
    }

    /// <summary>
    /// Keeps the device files' devices, owner-only, and drops platform identities from them: older versions kept the
    /// service user there, and a device file must never hold a user in the platform's namespace.
    /// </summary>
    private void RemovePlatformIdentitiesFromDeviceFiles()
    {
        var passwords = File.Exists(PasswordFile) ? File.ReadAllLines(PasswordFile) : [];
        OwnerOnlyFile.Write(PasswordFile, JoinLines(passwords.Where(line => !line.StartsWith(PlatformPrefix, StringComparison.OrdinalIgnoreCase))));

        var acl = File.Exists(AclFile) ? File.ReadAllLines(AclFile) : [];
        var kept = new List<string>();
        var skipping = false;
        foreach (var line in acl)
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("user ", StringComparison.Ordinal))
            {
                skipping = trimmed["user ".Length..].Trim().StartsWith(PlatformPrefix, StringComparison.OrdinalIgnoreCase);
            }
            else if (!trimmed.StartsWith("topic ", StringComparison.Ordinal) && trimmed.Length > 0)
            {
                skipping = false;
            }
            if (!skipping)
            {
                kept.Add(line);
            }
        }
        OwnerOnlyFile.Write(AclFile, JoinLines(kept));
    }

    private static string JoinLines(IEnumerable<string> lines) => string.Concat(lines.Select(line => line + "\n"));

    private static int PickOtherFreePort(int taken)
    {
        while (true)
        {
            var port = FreePort.Pick();
            if (port != taken)
            {
                return port;
            }
        }
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
                    // Exited is seen before the last output lines are delivered; wait for both streams to end.
                    await process.WaitForExitAsync(timeout.Token);
                    throw new InvalidOperationException(
                        $"Mosquitto exited with code {process.ExitCode} while starting on port {Port}.\n{Diagnostics()}");
                }
                var returnCode = await TryConnectAsync(ServicePort, timeout.Token);
                if (returnCode == 0)
                {
                    // The device listener must answer too, and must not take the platform's account.
                    var deviceListener = await TryConnectAsync(Port, timeout.Token);
                    if (deviceListener is NotAuthorized or BadUserNameOrPassword)
                    {
                        return;
                    }
                    if (deviceListener is not null)
                    {
                        throw new InvalidOperationException(
                            $"Mosquitto's device listener on port {Port} answered the service user with CONNACK code {deviceListener}, not a refusal.\n{Diagnostics()}");
                    }
                }
                else if (returnCode is not null)
                {
                    throw new InvalidOperationException(
                        $"Mosquitto on port {ServicePort} refused the service user (CONNACK code {returnCode}).\n{Diagnostics()}");
                }
                await Task.Delay(PollInterval, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Mosquitto did not accept MQTT connections on ports {Port} and {ServicePort} within {StartTimeout.TotalSeconds:0} s.\n{Diagnostics()}");
        }
    }

    /// <summary>
    /// A real MQTT 3.1.1 CONNECT as the service user: the CONNACK return code, or null when nothing listens yet.
    /// Written by hand because this project must not depend on the messaging library it helps to test.
    /// </summary>
    private async Task<int?> TryConnectAsync(int port, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync("127.0.0.1", port, cancellationToken);
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
            throw new InvalidOperationException($"Unexpected answer to CONNECT on port {port}: {Convert.ToHexString(connack)}.");
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
