using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Edge.Configuration;

/// <summary>
/// Reads the configuration document from a file (direct mode and local runs) and applies it to a
/// <see cref="ConfigurationStore"/> again whenever the file changes.
/// </summary>
/// <remarks>
/// Editors and deployment tools write a file in several steps (truncate, write, rename), so a change is applied only
/// after the file has been quiet for the debounce time. A FileSystemWatcher gives quick notice; a poll that compares
/// the file's content with what was last read catches what it misses (network and container mounts often raise no
/// events, and a same-size rewrite within the file system's time resolution leaves size and time unchanged).
/// A half-written file is simply rejected by the store, and the next write applies.
/// </remarks>
public sealed partial class FileConfigurationWatcher
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(300);

    private readonly string _path;
    private readonly ConfigurationStore _store;
    private readonly ILogger _logger;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _debounce;
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _signalCount;
    private string? _lastText;
    private bool _loadedOnce;

    public FileConfigurationWatcher(string path, ConfigurationStore store, ILogger<FileConfigurationWatcher>? logger = null,
        TimeSpan? pollInterval = null, TimeSpan? debounce = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(store);
        _path = Path.GetFullPath(path);
        _store = store;
        _logger = logger ?? NullLogger<FileConfigurationWatcher>.Instance;
        _pollInterval = pollInterval ?? DefaultPollInterval;
        _debounce = debounce ?? DefaultDebounce;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_pollInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(_debounce, TimeSpan.Zero);
    }

    public string FilePath => _path;

    private string Origin => $"file {_path}";

    /// <summary>Applies the file now, then on every change until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        using var watcher = CreateWatcher();
        var polling = PollAsync(cancellationToken);
        try
        {
            while (true)
            {
                await _signals.Reader.ReadAsync(cancellationToken);
                await QuietAsync(cancellationToken);
                await LoadAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await polling;
        }
    }

    private FileSystemWatcher? CreateWatcher()
    {
        var directory = Path.GetDirectoryName(_path)!;
        try
        {
            // No name filter: a rename over the file may be reported under the temporary name only.
            var watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, e) => SignalIfOurs(e.FullPath);
            watcher.Created += (_, e) => SignalIfOurs(e.FullPath);
            watcher.Deleted += (_, e) => SignalIfOurs(e.FullPath);
            watcher.Renamed += (_, e) =>
            {
                SignalIfOurs(e.FullPath);
                SignalIfOurs(e.OldFullPath);
            };
            watcher.Error += (_, e) => _logger.FileWatcherFailed(_path, e.GetException().Message);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or PlatformNotSupportedException)
        {
            // A missing directory or an exhausted inotify limit: the poll below still sees changes.
            _logger.FileWatcherFailed(_path, ex.Message);
            return null;
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_pollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                string? text;
                try
                {
                    text = await ReadAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue; // LoadAsync reports it when a change brings it there
                }
                if (!string.Equals(text, Volatile.Read(ref _lastText), StringComparison.Ordinal))
                {
                    Signal();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void SignalIfOurs(string path)
    {
        if (string.Equals(path, _path, StringComparison.Ordinal))
        {
            Signal();
        }
    }

    private void Signal()
    {
        Interlocked.Increment(ref _signalCount);
        _signals.Writer.TryWrite(true);
    }

    /// <summary>Waits until no change has been signalled for the debounce time.</summary>
    private async Task QuietAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var before = Interlocked.Read(ref _signalCount);
            await Task.Delay(_debounce, cancellationToken);
            if (Interlocked.Read(ref _signalCount) == before)
            {
                // Signals that arrived while waiting are covered by the read that follows.
                _signals.Reader.TryRead(out _);
                return;
            }
        }
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        string? text;
        try
        {
            text = await ReadAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Possibly locked mid-replace; the writer's next change (or the poll) brings us back.
            _logger.ConfigurationFileUnreadable(_path, ex.Message);
            Volatile.Write(ref _lastText, null);
            _store.Reject(Origin, new ConfigurationError("", $"configuration file {_path} could not be read: {ex.Message}"));
            return;
        }

        if (string.Equals(text, _lastText, StringComparison.Ordinal) && _loadedOnce)
        {
            return;
        }
        _loadedOnce = true;
        Volatile.Write(ref _lastText, text);
        if (text is null)
        {
            _logger.ConfigurationFileMissing(_path);
            _store.Reject(Origin, new ConfigurationError("", $"configuration file {_path} does not exist"));
            return;
        }
        _store.Apply(text, Origin);
    }

    /// <summary>The file's text; null when it does not exist.</summary>
    private async Task<string?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5110, Level = LogLevel.Warning, Message = "Configuration file {Path} does not exist; waiting for it")]
    public static partial void ConfigurationFileMissing(this ILogger logger, string path);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Warning, Message = "Configuration file {Path} could not be read: {Reason}")]
    public static partial void ConfigurationFileUnreadable(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Warning,
        Message = "Change notifications for {Path} failed ({Reason}); changes are still seen by polling")]
    public static partial void FileWatcherFailed(this ILogger logger, string path, string reason);
}
