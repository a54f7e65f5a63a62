using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Storage;

namespace Pdm.Prediction;

/// <summary>A production model, parsed, with the sensors it needs.</summary>
public sealed record ProductionModel<T>(ModelVersion Metadata, T Model, IReadOnlyList<string> Features)
{
    /// <summary>How scores and predictions name the model that made them: <c>name@version</c>.</summary>
    public string Reference => $"{Metadata.Name}@{Metadata.Version}";
}

/// <summary>Which production model serves which machine.</summary>
public static class ProductionModelSet
{
    /// <summary>
    /// The model for a machine that sends <paramref name="sensors"/>: every feature of the model among them; of those,
    /// the one with the most features (the most specific), then the first by name. Null when none fits.
    /// </summary>
    public static ProductionModel<T>? BestFor<T>(IReadOnlyList<ProductionModel<T>> models, IReadOnlyCollection<string> sensors)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(sensors);
        var present = sensors as IReadOnlySet<string> ?? sensors.ToHashSet(StringComparer.Ordinal);
        ProductionModel<T>? best = null;
        foreach (var model in models)
        {
            if (!model.Features.All(present.Contains))
            {
                continue;
            }
            if (best is null || model.Features.Count > best.Features.Count
                || (model.Features.Count == best.Features.Count
                    && string.CompareOrdinal(model.Metadata.Name, best.Metadata.Name) < 0))
            {
                best = model;
            }
        }
        return best;
    }
}

/// <summary>
/// The production models of one registry kind, parsed once per version. A model serves a machine when the machine
/// sends every sensor the model was trained on (<see cref="ProductionModelSet.BestFor"/>), so models need no machine-kind metadata: a
/// model trained on a pump's sensors serves every machine that reports those sensors.
/// </summary>
public sealed partial class ProductionModelSet<T> where T : class
{
    private readonly ProductionModelCache _cache;
    private readonly string _kind;
    private readonly Func<ReadOnlyMemory<byte>, T?> _parse;
    private readonly Func<T, IReadOnlyList<string>> _features;
    private readonly ILogger _logger;

    // Keyed by the cache's artifact instance, which stays the same object while its version is in production.
    private readonly ConditionalWeakTable<ModelArtifact, ProductionModel<T>?> _parsed = [];

    /// <param name="parse">Reads an artifact; null when the bytes are not a model of this kind (logged and skipped).</param>
    public ProductionModelSet(ProductionModelCache cache, string kind, Func<ReadOnlyMemory<byte>, T?> parse,
        Func<T, IReadOnlyList<string>> features, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        _cache = cache;
        _kind = kind;
        _parse = parse;
        _features = features;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Every production model of the kind; a promotion shows within the cache's check interval.</summary>
    public async Task<IReadOnlyList<ProductionModel<T>>> GetAsync(CancellationToken cancellationToken)
    {
        var artifacts = await _cache.GetAllAsync(_kind, cancellationToken);
        var models = new List<ProductionModel<T>>(artifacts.Count);
        foreach (var artifact in artifacts)
        {
            if (_parsed.GetValue(artifact, Parse) is { } model)
            {
                models.Add(model);
            }
        }
        return models;
    }

    private ProductionModel<T>? Parse(ModelArtifact artifact)
    {
        var model = _parse(artifact.Content);
        if (model is null)
        {
            Log.UnreadableModel(_logger, artifact.Metadata.Name, artifact.Metadata.Version, _kind);
            return null;
        }
        return new ProductionModel<T>(artifact.Metadata, model, _features(model));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4255, Level = LogLevel.Warning, Message = "Production model {Name} v{Version} is not a readable {Kind} model; it is skipped")]
        public static partial void UnreadableModel(ILogger logger, string name, int version, string kind);
    }
}
