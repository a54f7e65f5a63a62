using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.AzureStorage;
using Pdm.Storage;

namespace Pdm.Prediction;

/// <summary>
/// The production version of each model name, as a long-running process (the function app) needs it: the registry
/// is asked at most once per <c>checkInterval</c> (default 30 s) which version is in production, and the artifact is
/// downloaded again only when that version changed. This is how a promotion reaches running instances without a
/// restart. <see cref="GetAllAsync"/> does the same for every production model of a kind. Thread-safe; concurrent
/// callers share one check per name or kind.
/// </summary>
public sealed partial class ProductionModelCache
{
    public static readonly TimeSpan DefaultCheckInterval = TimeSpan.FromSeconds(30);

    private readonly ModelRegistry _registry;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _checkInterval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry<Snapshot>> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry<KindSnapshot>> _kinds = new(StringComparer.Ordinal);

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
        var entry = _entries.GetOrAdd(name, static _ => new Entry<Snapshot>());
        var snapshot = await CurrentAsync(entry, previous => RefreshAsync(name, previous, cancellationToken), cancellationToken);
        return snapshot.Model;
    }

    private async Task<Snapshot> RefreshAsync(string name, Snapshot? previous, CancellationToken cancellationToken)
    {
        var checkedAt = _timeProvider.GetTimestamp();
        try
        {
            var production = await _registry.GetProductionVersionAsync(name, cancellationToken);
            if (production is not null && previous?.Model is { } current && IsSameVersion(current.Metadata, production))
            {
                return new Snapshot(current, checkedAt);
            }
            var loaded = production is null ? null : await _registry.LoadAsync(production, cancellationToken);
            Log.ProductionModelChanged(_logger, name, previous?.Model?.Metadata.Version, loaded?.Metadata.Version);
            return new Snapshot(loaded, checkedAt);
        }
        catch (Exception ex) when (previous is not null
            && (ex is NpgsqlException or ModelIntegrityException || StorageClients.IsUnavailable(ex)))
        {
            // Keep predicting with the last good model; the next check comes after a full interval, not at once.
            Log.ProductionModelCheckFailed(_logger, name, previous.Model?.Metadata.Version, ex);
            return previous with { CheckedAt = checkedAt };
        }
    }

    /// <returns>
    /// The production version of every name of <paramref name="kind"/>, by name. A version is downloaded only when it
    /// changed; when a check fails, the models already loaded keep being served (per name for a damaged artifact).
    /// </returns>
    public async Task<IReadOnlyList<ModelArtifact>> GetAllAsync(string kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        var entry = _kinds.GetOrAdd(kind, static _ => new Entry<KindSnapshot>());
        var snapshot = await CurrentAsync(entry, previous => RefreshKindAsync(kind, previous, cancellationToken), cancellationToken);
        return snapshot.Models;
    }

    /// <summary>The entry's snapshot, refreshed first when its check is due; one refresh at a time per entry.</summary>
    private async Task<T> CurrentAsync<T>(Entry<T> entry, Func<T?, Task<T>> refresh, CancellationToken cancellationToken)
        where T : CheckedSnapshot
    {
        var snapshot = entry.Snapshot;
        if (snapshot is not null && !IsDue(snapshot))
        {
            return snapshot;
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while this one waited.
            snapshot = entry.Snapshot;
            if (snapshot is not null && !IsDue(snapshot))
            {
                return snapshot;
            }
            snapshot = await refresh(snapshot);
            entry.Snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<KindSnapshot> RefreshKindAsync(string kind, KindSnapshot? previous, CancellationToken cancellationToken)
    {
        var checkedAt = _timeProvider.GetTimestamp();
        IReadOnlyList<ModelVersion> production;
        try
        {
            production = await _registry.ListProductionVersionsAsync(kind, cancellationToken);
        }
        catch (Exception ex) when (previous is not null && ex is NpgsqlException)
        {
            Log.ProductionKindCheckFailed(_logger, kind, ex);
            return previous with { CheckedAt = checkedAt };
        }

        var models = new List<ModelArtifact>(production.Count);
        foreach (var metadata in production)
        {
            var current = previous?.Models.FirstOrDefault(m => m.Metadata.Name == metadata.Name);
            if (current is not null && IsSameVersion(current.Metadata, metadata))
            {
                models.Add(current);
                continue;
            }
            try
            {
                models.Add(await _registry.LoadAsync(metadata, cancellationToken));
                Log.ProductionModelChanged(_logger, metadata.Name, current?.Metadata.Version, metadata.Version);
            }
            catch (Exception ex) when (ex is ModelIntegrityException || StorageClients.IsUnavailable(ex))
            {
                Log.ProductionModelCheckFailed(_logger, metadata.Name, current?.Metadata.Version, ex);
                if (current is not null)
                {
                    models.Add(current);
                }
            }
        }
        return new KindSnapshot(models, checkedAt);
    }

    private static bool IsSameVersion(ModelVersion a, ModelVersion b) =>
        a.Version == b.Version && string.Equals(a.ArtifactSha256, b.ArtifactSha256, StringComparison.Ordinal);

    private bool IsDue(CheckedSnapshot snapshot) => _timeProvider.GetElapsedTime(snapshot.CheckedAt) >= _checkInterval;

    /// <summary>What was loaded, and when the registry was last asked (a <see cref="TimeProvider"/> timestamp).</summary>
    private abstract record CheckedSnapshot(long CheckedAt);

    private sealed record Snapshot(ModelArtifact? Model, long CheckedAt) : CheckedSnapshot(CheckedAt);

    private sealed record KindSnapshot(IReadOnlyList<ModelArtifact> Models, long CheckedAt) : CheckedSnapshot(CheckedAt);

    private sealed class Entry<T> where T : class
    {
        private T? _snapshot;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public T? Snapshot
        {
            get => Volatile.Read(ref _snapshot);
            set => Volatile.Write(ref _snapshot, value);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4252, Level = LogLevel.Information, Message = "Production model {Name} changed from v{OldVersion} to v{NewVersion}")]
        public static partial void ProductionModelChanged(ILogger logger, string name, int? oldVersion, int? newVersion);

        [LoggerMessage(EventId = 4253, Level = LogLevel.Warning, Message = "Checking production model {Name} failed; still serving v{Version}")]
        public static partial void ProductionModelCheckFailed(ILogger logger, string name, int? version, Exception exception);

        [LoggerMessage(EventId = 4254, Level = LogLevel.Warning, Message = "Listing the production {Kind} models failed; still serving the last list")]
        public static partial void ProductionKindCheckFailed(ILogger logger, string kind, Exception exception);
    }
}
