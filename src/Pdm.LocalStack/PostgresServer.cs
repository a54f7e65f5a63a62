using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pdm.LocalStack;

/// <summary>
/// A throwaway PostgreSQL cluster under a state directory, bound to 127.0.0.1. Settings trade durability for speed
/// (fsync off), so it is for local runs and tests only. Reuses the data directory when it already holds a cluster.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    // Unix socket paths are limited to 107 bytes including ".s.PGSQL.<port>".
    private const int MaxSocketDirectoryLength = 80;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _stateDirectory;
    private readonly string _dataDirectory;
    private readonly string _logFile;
    private readonly string _binDirectory;
    private bool _started;

    /// <param name="stateDirectory">A directory of its own (handed to the postgres user when running as root); every
    /// parent must be traversable by that user, which rules out anything under /root.</param>
    public PostgresServer(string stateDirectory, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _stateDirectory = Path.GetFullPath(stateDirectory);
        _dataDirectory = Path.Combine(_stateDirectory, "pgdata");
        _logFile = Path.Combine(_stateDirectory, "postgres.log");
        _binDirectory = FindBinDirectory();
        Port = port;
    }

    public int Port { get; }

    /// <summary>The server's log (pg_ctl -l).</summary>
    public string LogFile => _logFile;

    /// <summary>Connection string of the bootstrap superuser (trust authentication on loopback).</summary>
    public string SuperuserConnectionString =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres");

    /// <summary>Process id of the postmaster, read from postmaster.pid; null when the server is not running.</summary>
    public int? ProcessId
    {
        get
        {
            var pidFile = Path.Combine(_dataDirectory, "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return null;
            }
            using var reader = new StreamReader(pidFile);
            return int.TryParse(reader.ReadLine(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var asRoot = string.Equals(Environment.UserName, "root", StringComparison.Ordinal);
        Directory.CreateDirectory(_dataDirectory);
        var socketDirectory = Path.Combine(_stateDirectory, "run");
        if (socketDirectory.Length > MaxSocketDirectoryLength)
        {
            socketDirectory = "/tmp";
        }
        Directory.CreateDirectory(socketDirectory);
        if (asRoot)
        {
            // initdb refuses to run as root; the cluster belongs to the postgres user instead.
            await RunAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", _stateDirectory], asRoot: false, cancellationToken);
        }

        if (!File.Exists(Path.Combine(_dataDirectory, "PG_VERSION")))
        {
            await RunCheckedAsync(
                Tool("initdb"),
                ["-D", _dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                asRoot,
                "initdb",
                cancellationToken);
        }

        // pg_ctl passes -o through a shell, hence the single quotes around the socket path.
        var serverOptions = string.Join(' ',
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            $"-k '{socketDirectory}'",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c fsync=off",
            "-c full_page_writes=off",
            "-c synchronous_commit=off",
            "-c max_wal_size=2GB",
            "-c shared_buffers=128MB");
        await RunCheckedAsync(
            Tool("pg_ctl"),
            ["-D", _dataDirectory, "-l", _logFile, "-w", "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
             "-o", serverOptions, "start"],
            asRoot,
            "pg_ctl start",
            cancellationToken);
        _started = true;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            return;
        }
        var asRoot = string.Equals(Environment.UserName, "root", StringComparison.Ordinal);
        await RunCheckedAsync(Tool("pg_ctl"), ["-D", _dataDirectory, "-m", "fast", "-w", "stop"], asRoot, "pg_ctl stop",
            cancellationToken);
        _started = false;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await StopAsync(timeout.Token);
    }

    private string Tool(string name) => Path.Combine(_binDirectory, name);

    private static string FindBinDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("PDM_PG_BIN");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }
        const string Root = "/usr/lib/postgresql";
        var newest = Directory.Exists(Root)
            ? Directory.GetDirectories(Root)
                .Select(dir => (Dir: dir, Version: int.TryParse(Path.GetFileName(dir), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(x => x.Version > 0 && File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
                .OrderByDescending(x => x.Version)
                .Select(x => Path.Combine(x.Dir, "bin"))
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException(
            $"No PostgreSQL server binaries under {Root}/<version>/bin; install postgresql or set PDM_PG_BIN.");
    }

    private async Task RunCheckedAsync(string file, IReadOnlyList<string> arguments, bool asRoot, string step,
        CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunAsync(file, arguments, asRoot, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"PostgreSQL {step} failed with exit code {exitCode} (data directory {_dataDirectory}, port {Port}).\n" +
                $"{output.Trim()}\n--- server log tail ({_logFile}) ---\n{LogTail(40)}");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, IReadOnlyList<string> arguments,
        bool asRoot, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo
        {
            FileName = asRoot ? "runuser" : file,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asRoot)
        {
            foreach (var arg in (string[])["-u", ServiceUser, "--", file])
            {
                startInfo.ArgumentList.Add(arg);
            }
        }
        foreach (var arg in arguments)
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        return (process.ExitCode, output);
    }

    private string LogTail(int lines)
    {
        try
        {
            return File.Exists(_logFile)
                ? string.Join('\n', File.ReadLines(_logFile).TakeLast(lines))
                : "(no log file)";
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }
}
