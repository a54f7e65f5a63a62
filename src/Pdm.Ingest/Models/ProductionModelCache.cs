using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Messaging.Storage;

namespace Pdm.Ingest.Models;

/// <summary>
/// The production version of each model name, as a long-running process (the function app) needs it: the registry
/// is asked at most once per <c>checkInterval</c> (default 30 s) which version is in production, and the artifact is
/// downloaded again only when that version changed. This is how a promotion reaches running instances without a
/// restart. Thread-safe; concurrent callers share one check per name.
/// </summary>
public sealed partial class ProductionModelCache
{
    public static readonly TimeSpan DefaultCheckInterval = TimeSpan.FromSeconds(30);

    private readonly ModelRegistry _registry;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _checkInterval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public ProductionModelCache(ModelRegistry registry, TimeProvider? timeProvider = null, TimeSpan? checkInterval = null,
        ILogger<ProductionModelCache>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (checkInterval is { } interval && interval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(checkInterval), interval, "The check interval must not be negative.");
        }
        _registry = registry;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _checkInterval = checkInterval ?? DefaultCheckInterval;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <returns>
    /// The production model of <paramref name="name"/>, or null when none is in production. When a later check
    /// fails (database or storage unreachable, artifact damaged) the model already loaded keeps being served.
    /// </returns>
    public async Task<ModelArtifact?> GetAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var entry = _entries.GetOrAdd(name, static _ => new Entry());
        var snapshot = entry.Snapshot;
        if (snapshot is not null && !IsDue(snapshot))
        {
            return snapshot.Model;
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while this one waited.
            snapshot = entry.Snapshot;
            if (snapshot is not null && !IsDue(snapshot))
            {
                return snapshot.Model;
            }
            var refreshed = await RefreshAsync(name, snapshot, cancellationToken);
            entry.Snapshot = refreshed;
            return refreshed.Model;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<Snapshot> RefreshAsync(string name, Snapshot? previous, CancellationToken cancellationToken)
    {
        var checkedAt = _timeProvider.GetTimestamp();
        try
        {
            var production = await _registry.GetProductionVersionAsync(name, cancellationToken);
            if (production is not null && previous?.Model is { } current
                && current.Metadata.Version == production.Version
                && string.Equals(current.Metadata.ArtifactSha256, production.ArtifactSha256, StringComparison.Ordinal))
            {
                return new Snapshot(current, checkedAt);
            }
            var loaded = production is null ? null : await _registry.LoadAsync(production, cancellationToken);
            Log.ProductionModelChanged(_logger, name, previous?.Model?.Metadata.Version, loaded?.Metadata.Version);
            return new Snapshot(loaded, checkedAt);
        }
        catch (Exception ex) when (previous is not null
            && ex is NpgsqlException or StorageRequestException or ModelIntegrityException or HttpRequestException)
        {
            // Keep predicting with the last good model; the next check comes after a full interval, not at once.
            Log.ProductionModelCheckFailed(_logger, name, previous.Model?.Metadata.Version, ex);
            return previous with { CheckedAt = checkedAt };
        }
    }

    private bool IsDue(Snapshot snapshot) => _timeProvider.GetElapsedTime(snapshot.CheckedAt) >= _checkInterval;

    private sealed record Snapshot(ModelArtifact? Model, long CheckedAt);

    private sealed class Entry
    {
        private Snapshot? _snapshot;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Snapshot? Snapshot
        {
            get => Volatile.Read(ref _snapshot);
            set => Volatile.Write(ref _snapshot, value);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4152, Level = LogLevel.Information, Message = "Production model {Name} changed from v{OldVersion} to v{NewVersion}")]
        public static partial void ProductionModelChanged(ILogger logger, string name, int? oldVersion, int? newVersion);

        [LoggerMessage(EventId = 4153, Level = LogLevel.Warning, Message = "Checking production model {Name} failed; still serving v{Version}")]
        public static partial void ProductionModelCheckFailed(ILogger logger, string name, int? version, Exception exception);
    }
}
