using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.AzureStorage;
using Pdm.Storage;

namespace Pdm.Prediction;

/// <summary>A model version with its artifact bytes, checked against the SHA-256 recorded at registration.</summary>
public sealed record ModelArtifact(ModelVersion Metadata, ReadOnlyMemory<byte> Content);

/// <summary>The stored artifact is missing or does not match the hash recorded for its version.</summary>
public sealed class ModelIntegrityException(string message) : Exception(message);

/// <summary>A model name holds versions of one kind only; registering another kind under it is refused.</summary>
public sealed class ModelKindConflictException(string message) : Exception(message);

/// <summary>
/// Trained models: artifacts as blobs, metadata and stages in PostgreSQL. Blobs are named by the artifact's SHA-256,
/// so an upload is idempotent and a blob is never overwritten with different bytes; the metadata row is written only
/// after its blob exists. Registering and promoting need a <see cref="ModelStore"/> on the owner's connection;
/// reading works with the application role.
/// </summary>
public sealed partial class ModelRegistry(ModelStore database, BlobContainerClient container, ILogger<ModelRegistry>? logger = null)
{
    /// <summary>The blob container of model artifacts unless configured otherwise (the function app, the CLI).</summary>
    public const string DefaultContainer = "models";

    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;
    private int _containerReady;

    /// <returns>Null when <paramref name="name"/> is a valid model name, otherwise why it is not.</returns>
    public static string? ValidateName(string? name) =>
        name is not null && ModelName().IsMatch(name)
            ? null
            : $"Model name '{name}' is invalid: use 1 to 63 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit.";

    /// <summary>The training data hash the registry records for a file: SHA-256 of its bytes, lower-case hex.</summary>
    public static async Task<string> HashTrainingDataAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }

    /// <summary>Stores the artifact and adds it as the next version of <paramref name="name"/>, in stage staging.</summary>
    /// <exception cref="ArgumentException">The name is invalid (see <see cref="ValidateName"/>) or a metric is not finite.</exception>
    /// <exception cref="ModelKindConflictException">The name already holds models of another kind.</exception>
    public async Task<ModelVersion> RegisterAsync(string name, string kind, ReadOnlyMemory<byte> artifact,
        string trainingDataHash, IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, string> parameters,
        CancellationToken cancellationToken)
    {
        if (ValidateName(name) is { } nameError)
        {
            throw new ArgumentException(nameError, nameof(name));
        }
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(trainingDataHash);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(parameters);
        // JSON has no NaN or infinity, and such a metric would say nothing about the model anyway.
        if (metrics.FirstOrDefault(m => !double.IsFinite(m.Value)) is { Key: not null } bad)
        {
            throw new ArgumentException($"Metric '{bad.Key}' is {bad.Value}: metrics must be finite numbers.", nameof(metrics));
        }

        // Production models are looked up by kind: a name whose versions changed kind would serve as the wrong one.
        if ((await database.ListModelsAsync(name, cancellationToken)).FirstOrDefault(v => v.Kind != kind) is { } other)
        {
            throw new ModelKindConflictException($"Model '{name}' holds {other.Kind} models, not {kind}: choose another name.");
        }

        var sha256 = SHA256.HashData(artifact.Span);
        var blobName = $"{name}/sha256-{Convert.ToHexStringLower(sha256)}";
        await EnsureContainerAsync(cancellationToken);
        // Same name = same bytes, so an existing blob (a re-registration) is already right.
        await container.WriteAsync(blobName, artifact, "application/octet-stream", overwrite: false, cancellationToken);
        var registered = await database.RegisterModelAsync(new NewModelVersion
        {
            Name = name,
            Kind = kind,
            ArtifactBlob = blobName,
            ArtifactSha256 = sha256,
            ArtifactSize = artifact.Length,
            TrainingDataHash = trainingDataHash,
            Metrics = metrics,
            Parameters = parameters,
        }, cancellationToken);
        Log.ModelRegistered(_logger, registered.Name, registered.Version, registered.Kind, registered.ArtifactSize);
        return registered;
    }

    /// <summary>Moves a version to a stage; promoting to production archives the previous production version.</summary>
    /// <returns>Null when the name has no such version.</returns>
    public async Task<ModelPromotion?> PromoteAsync(string name, int version, ModelStage stage, CancellationToken cancellationToken)
    {
        var promotion = await database.PromoteModelAsync(name, version, stage, cancellationToken);
        if (promotion is not null)
        {
            Log.ModelStageChanged(_logger, name, version, stage, promotion.Archived?.Version);
        }
        return promotion;
    }

    /// <summary>Every version of one name, or of all names when <paramref name="name"/> is null; by name, newest first.</summary>
    public Task<IReadOnlyList<ModelVersion>> ListAsync(string? name, CancellationToken cancellationToken) =>
        database.ListModelsAsync(name, cancellationToken);

    /// <summary>The production version's metadata only (one small query): what a cache checks before loading bytes.</summary>
    public Task<ModelVersion?> GetProductionVersionAsync(string name, CancellationToken cancellationToken) =>
        database.GetProductionModelAsync(name, cancellationToken);

    /// <summary>The production version's metadata of every name of one kind.</summary>
    public Task<IReadOnlyList<ModelVersion>> ListProductionVersionsAsync(string kind, CancellationToken cancellationToken) =>
        database.ListProductionModelsAsync(kind, cancellationToken);

    /// <returns>The production version with its bytes, or null when no version of <paramref name="name"/> is in production.</returns>
    /// <exception cref="ModelIntegrityException">The artifact blob is missing or its SHA-256 differs from the registered one.</exception>
    public async Task<ModelArtifact?> GetProductionAsync(string name, CancellationToken cancellationToken) =>
        await database.GetProductionModelAsync(name, cancellationToken) is { } metadata
            ? await LoadAsync(metadata, cancellationToken)
            : null;

    /// <returns>One version with its bytes (for evaluation or rollback), or null when it does not exist.</returns>
    /// <exception cref="ModelIntegrityException">The artifact blob is missing or its SHA-256 differs from the registered one.</exception>
    public async Task<ModelArtifact?> GetAsync(string name, int version, CancellationToken cancellationToken) =>
        await database.GetModelAsync(name, version, cancellationToken) is { } metadata
            ? await LoadAsync(metadata, cancellationToken)
            : null;

    /// <summary>Downloads the artifact of <paramref name="metadata"/> and checks it against the recorded hash.</summary>
    /// <exception cref="ModelIntegrityException">The artifact blob is missing or its SHA-256 differs from the registered one.</exception>
    public async Task<ModelArtifact> LoadAsync(ModelVersion metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var blob = await container.ReadOrNullAsync(metadata.ArtifactBlob, cancellationToken)
            ?? throw new ModelIntegrityException(
                $"Model {metadata.Name} v{metadata.Version}: artifact blob {metadata.ArtifactBlob} is missing.");
        var content = blob.Content.ToMemory();
        var actual = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        if (!string.Equals(actual, metadata.ArtifactSha256, StringComparison.Ordinal))
        {
            throw new ModelIntegrityException(
                $"Model {metadata.Name} v{metadata.Version}: artifact blob {metadata.ArtifactBlob} has SHA-256 {actual}, " +
                $"registered {metadata.ArtifactSha256}.");
        }
        return new ModelArtifact(metadata, content);
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref _containerReady, 1);
        }
    }

    // Same rule as the CHECK on pdm.models.name.
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex ModelName();

    private static partial class Log
    {
        [LoggerMessage(EventId = 4250, Level = LogLevel.Information, Message = "Registered model {Name} v{Version} ({Kind}, {Bytes} bytes)")]
        public static partial void ModelRegistered(ILogger logger, string name, int version, string kind, long bytes);

        [LoggerMessage(EventId = 4251, Level = LogLevel.Information, Message = "Model {Name} v{Version} is now {Stage} (archived: v{ArchivedVersion})")]
        public static partial void ModelStageChanged(ILogger logger, string name, int version, ModelStage stage, int? archivedVersion);
    }
}
