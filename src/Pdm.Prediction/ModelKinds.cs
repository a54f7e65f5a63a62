using Microsoft.Extensions.Logging;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;

namespace Pdm.Prediction;

/// <summary>
/// The kinds of model the registry holds, how an artifact of each kind is read, and which sensors a model needs: one
/// place for ingest's scoring, the Predict run, the CLI's train and eval, and tests.
/// </summary>
public static class ModelKinds
{
    /// <summary>Streaming anomaly ensembles (<see cref="AnomalyModel"/>), used by ingest's scoring.</summary>
    public const string Anomaly = "anomaly";

    /// <summary>Remaining-life models (<see cref="RulModel"/>), used by the Predict run.</summary>
    public const string Rul = "rul";

    /// <summary>Health-state classifiers (<see cref="StateModel"/>), used by the Predict run.</summary>
    public const string State = "state";

    /// <returns>The model, or null with <paramref name="error"/> saying why the bytes are not one.</returns>
    public static AnomalyModel? ReadAnomaly(ReadOnlyMemory<byte> artifact, out string? error)
    {
        var read = AnomalyModel.Read(artifact.Span);
        error = read.Model is null ? read.Error ?? "not an anomaly model" : null;
        return read.Model;
    }

    /// <returns>The model, or null with <paramref name="error"/> saying why the bytes are not one.</returns>
    public static RulModel? ReadRul(ReadOnlyMemory<byte> artifact, out string? error) => Read(artifact, RulModel.Read, out error);

    /// <returns>The model, or null with <paramref name="error"/> saying why the bytes are not one.</returns>
    public static StateModel? ReadState(ReadOnlyMemory<byte> artifact, out string? error) => Read(artifact, StateModel.Read, out error);

    /// <summary>The production anomaly models, each serving the machines that send all of its sensors.</summary>
    public static ProductionModelSet<AnomalyModel> AnomalyModels(ProductionModelCache cache, ILogger? logger = null) =>
        new(cache, Anomaly, bytes => ReadAnomaly(bytes, out _), m => m.FeatureNames, logger);

    /// <summary>The production remaining-life models, each serving the machines that send all of its sensors.</summary>
    public static ProductionModelSet<RulModel> RulModels(ProductionModelCache cache, ILogger? logger = null) =>
        new(cache, Rul, bytes => ReadRul(bytes, out _), m => SensorsOf(m.Features), logger);

    /// <summary>The production health-state models, each serving the machines that send all of its sensors.</summary>
    public static ProductionModelSet<StateModel> StateModels(ProductionModelCache cache, ILogger? logger = null) =>
        new(cache, State, bytes => ReadState(bytes, out _), m => SensorsOf(m.Features), logger);

    /// <summary>The sensors a model needs: the input columns it kept (a column constant in training carries nothing).</summary>
    private static string[] SensorsOf(RulFeatureBuilder features) => [.. features.KeptColumns.Select(c => features.InputNames[c])];

    private static T? Read<T>(ReadOnlyMemory<byte> bytes, Func<Stream, T> read, out string? error) where T : class
    {
        try
        {
            using var stream = new MemoryStream(bytes.ToArray(), writable: false);
            error = null;
            return read(stream);
        }
        catch (InvalidDataException exception)
        {
            error = exception.Message;
            return null;
        }
    }
}
