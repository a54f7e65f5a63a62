using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.IotHub;

namespace Pdm.LocalStack;

/// <summary>Where the local broker keeps its users and topic rights.</summary>
public sealed class MosquittoDeviceRegistryOptions
{
    public const string Section = "MosquittoRegistry";

    [Required] public string PasswordFile { get; set; } = "";
    [Required] public string AclFile { get; set; } = "";

    /// <summary>The broker's pid file; the registry sends that process SIGHUP after each change. Null: no signal.</summary>
    public string? PidFile { get; set; }

    /// <summary>How long to wait for another process that is changing the same files.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Device identities on the local Mosquitto (2.0.11 has no <c>%c</c>/<c>%u</c> in dynamic security, so this uses
/// the classic files): a device is a user named after its id, with a random key as its password, allowed to write
/// and read <c>devices/{id}/#</c> only. After each change the broker re-reads both files on SIGHUP without dropping
/// connections.
/// </summary>
/// <remarks>
/// The files hold devices only: the platform's service account lives in the broker's own files, and ids in the
/// platform's namespace (<see cref="DeviceIds.PlatformPrefix"/>) are refused here as well as by the API.
/// Files are replaced atomically (temp file + rename) with mode 0600. Callers in one process are serialised by a semaphore and
/// processes by an exclusive lock (flock) on <c>{PasswordFile}.lock</c>.
/// </remarks>
public sealed partial class MosquittoDeviceRegistry : IDeviceIdentityRegistry
{
    private const int KeyBytes = 32;
    private const int SigHup = 1;
    private static readonly UTF8Encoding NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(20);

    private readonly MosquittoDeviceRegistryOptions _options;
    private readonly ILogger _logger;

    public MosquittoDeviceRegistry(MosquittoDeviceRegistryOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.PasswordFile);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.AclFile);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    public Task<DeviceIdentity> CreateOrUpdateAsync(string deviceId, CancellationToken cancellationToken) =>
        WriteAsync(deviceId, Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)), cancellationToken);

    /// <summary>Creates the device, or replaces its password, with the key the caller chose (as IoT Hub's registry takes it).</summary>
    public async Task<DeviceIdentity> WriteAsync(string deviceId, string key, CancellationToken cancellationToken)
    {
        CheckDeviceId(deviceId);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var passwordLine = $"{deviceId}:{MosquittoPasswordHash.Create(key)}";
        await UpdateFilesAsync(
            passwords => [.. WithoutUser(passwords, deviceId), passwordLine],
            acl => [.. WithoutAclBlock(acl, deviceId), $"user {deviceId}", $"topic write devices/{deviceId}/#", $"topic read devices/{deviceId}/#", ""],
            cancellationToken);
        _logger.DeviceWritten(deviceId, _options.PasswordFile);
        return new DeviceIdentity(deviceId, key);
    }

    public async Task DeleteAsync(string deviceId, CancellationToken cancellationToken)
    {
        CheckDeviceId(deviceId);
        await UpdateFilesAsync(
            passwords => [.. WithoutUser(passwords, deviceId)],
            acl => [.. WithoutAclBlock(acl, deviceId)],
            cancellationToken);
        _logger.DeviceRemoved(deviceId, _options.PasswordFile);
    }

    /// <summary>Whether the password file has a user of this name.</summary>
    public bool Contains(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        return ReadLines(_options.PasswordFile).Any(line => line.StartsWith(deviceId + ":", StringComparison.Ordinal));
    }

    private async Task UpdateFilesAsync(Func<string[], List<string>> passwords, Func<string[], List<string>> acl,
        CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            using (await AcquireFileLockAsync(cancellationToken))
            {
                ReplaceAtomically(_options.PasswordFile, passwords(ReadLines(_options.PasswordFile)));
                ReplaceAtomically(_options.AclFile, acl(ReadLines(_options.AclFile)));
            }
        }
        finally
        {
            Gate.Release();
        }
        SignalBroker();
    }

    private async Task<FileStream> AcquireFileLockAsync(CancellationToken cancellationToken)
    {
        var lockFile = _options.PasswordFile + ".lock";
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                // On Unix .NET takes an exclusive flock for FileShare.None; another process holding it makes this throw.
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < _options.LockTimeout)
            {
                await Task.Delay(LockRetryDelay, cancellationToken);
            }
            catch (IOException ex)
            {
                throw new IOException($"Another process has held {lockFile} for more than {_options.LockTimeout.TotalSeconds:0} s.", ex);
            }
        }
    }

    private void SignalBroker()
    {
        var pidFile = _options.PidFile;
        if (pidFile is null)
        {
            return;
        }
        if (!File.Exists(pidFile))
        {
            _logger.BrokerNotRunning(pidFile);
            return;
        }
        var text = File.ReadAllText(pidFile).Trim();
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            throw new InvalidDataException($"Pid file {pidFile} does not hold a process id: '{text}'.");
        }
        if (Kill(pid, SigHup) != 0)
        {
            // A stale pid file (the broker died): it reads the files anyway when it starts again.
            _logger.BrokerSignalFailed(pid, pidFile, Marshal.GetLastPInvokeErrorMessage());
        }
    }

    private static string[] ReadLines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    private static IEnumerable<string> WithoutUser(string[] passwordLines, string user) =>
        passwordLines.Where(line => !line.StartsWith(user + ":", StringComparison.Ordinal));

    /// <summary>Drops the <c>user {id}</c> line and the topic lines under it; everything else stays where it was.</summary>
    private static IEnumerable<string> WithoutAclBlock(string[] aclLines, string user)
    {
        var skipping = false;
        foreach (var line in aclLines)
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("user ", StringComparison.Ordinal))
            {
                skipping = string.Equals(trimmed["user ".Length..].Trim(), user, StringComparison.Ordinal);
            }
            else if (skipping && (trimmed.Length == 0 || trimmed.StartsWith("topic ", StringComparison.Ordinal)))
            {
                // part of the removed block
            }
            else
            {
                skipping = false;
            }
            if (!skipping)
            {
                yield return line;
            }
        }
    }

    private static void ReplaceAtomically(string path, List<string> lines)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var content = new StringBuilder();
            foreach (var line in lines)
            {
                content.Append(line).Append('\n');
            }
            // Password hashes and topic rights: readable by the broker's owner only, from the first byte written.
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = OwnerOnly;
            }
            using (var writer = new StreamWriter(temporary, NoBom, create))
            {
                writer.Write(content.ToString());
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Refuses invalid ids and, even when a caller skipped validation, every id in the platform's namespace: the
    /// broker's service account is the platform's, and a registration must never rewrite its password or rights.
    /// </summary>
    private static void CheckDeviceId(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        if (DeviceIds.IsPlatformId(deviceId))
        {
            throw new ArgumentException(
                $"'{deviceId}' is a platform identity (prefix '{DeviceIds.PlatformPrefix}'); the device registry never writes or removes it.",
                nameof(deviceId));
        }
        if (!DeviceIds.IsValid(deviceId, out var reason))
        {
            throw new ArgumentException(reason, nameof(deviceId));
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 8000, Level = LogLevel.Information, Message = "Device {DeviceId} written to {PasswordFile} and its ACL")]
    public static partial void DeviceWritten(this ILogger logger, string deviceId, string passwordFile);

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Device {DeviceId} removed from {PasswordFile} and its ACL")]
    public static partial void DeviceRemoved(this ILogger logger, string deviceId, string passwordFile);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "No broker pid file at {PidFile}; the broker reads the files when it starts")]
    public static partial void BrokerNotRunning(this ILogger logger, string pidFile);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "SIGHUP to broker pid {Pid} (from {PidFile}) failed: {Reason}")]
    public static partial void BrokerSignalFailed(this ILogger logger, int pid, string pidFile, string reason);
}
