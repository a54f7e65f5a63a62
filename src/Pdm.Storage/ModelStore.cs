using System.Text.Json;
using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

public enum ModelStage
{
    Staging,
    Production,
    Archived,
}

/// <summary>A model version to register; the artifact must already be stored as <see cref="ArtifactBlob"/>.</summary>
public sealed record NewModelVersion
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required string ArtifactBlob { get; init; }
    public required byte[] ArtifactSha256 { get; init; }
    public required long ArtifactSize { get; init; }
    public required string TrainingDataHash { get; init; }
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }
}

/// <summary>One registered model version. <see cref="ArtifactSha256"/> is lower-case hex.</summary>
public sealed record ModelVersion
{
    public required string Name { get; init; }
    public required int Version { get; init; }
    public required string Kind { get; init; }
    public required ModelStage Stage { get; init; }
    public required string ArtifactBlob { get; init; }
    public required string ArtifactSha256 { get; init; }
    public required long ArtifactSize { get; init; }
    public required string TrainingDataHash { get; init; }
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset StageChangedAt { get; init; }
}

/// <param name="Promoted">The version after the change.</param>
/// <param name="Archived">The previous production version, archived by this promotion; null when there was none.</param>
public sealed record ModelPromotion(ModelVersion Promoted, ModelVersion? Archived);

/// <summary>
/// The model registry's rows: versions, their stages and metrics (the artifacts are blobs). The application role may
/// only read them; registering and promoting need the owner's connection.
/// </summary>
public sealed class ModelStore(NpgsqlDataSource dataSource)
{
    private const string ModelColumns =
        "name, version, kind, stage, artifact_blob, artifact_sha256, artifact_size, training_data_hash, " +
        "metrics::text, parameters::text, created_at, stage_changed_at";

    // Serializes registrations and promotions of one name (per-name advisory lock, released at commit).
    private const string LockModelName = "SELECT pg_advisory_xact_lock(hashtextextended('pdm.models/' || $1, 0))";

    /// <summary>
    /// Adds the next version of <see cref="NewModelVersion.Name"/> (1 for a new name) in stage staging. Needs the
    /// owner's connection: the application role may only read models.
    /// </summary>
    public async Task<ModelVersion> RegisterModelAsync(NewModelVersion model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(model.Name);
        ArgumentException.ThrowIfNullOrWhiteSpace(model.Kind);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockName = Command(connection, transaction, LockModelName, model.Name))
        {
            await lockName.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var insert = Command(connection, transaction, $"""
            INSERT INTO pdm.models (name, version, kind, artifact_blob, artifact_sha256, artifact_size,
                                    training_data_hash, metrics, parameters)
            SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb
            FROM pdm.models WHERE name = $1
            RETURNING {ModelColumns}
            """,
            model.Name, model.Kind, model.ArtifactBlob, model.ArtifactSha256, model.ArtifactSize, model.TrainingDataHash,
            JsonSerializer.Serialize(model.Metrics), JsonSerializer.Serialize(model.Parameters));
        var registered = (await ReadFirstAsync(insert, MapModel, cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return registered;
    }

    /// <summary>
    /// Moves a version to <paramref name="stage"/>. Promoting to production archives the name's current production
    /// version in the same transaction, so readers always see at most one. Needs the owner's connection.
    /// </summary>
    /// <returns>Null when the name has no such version.</returns>
    public async Task<ModelPromotion?> PromoteModelAsync(string name, int version, ModelStage stage,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockName = Command(connection, transaction, LockModelName, name))
        {
            await lockName.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var exists = Command(connection, transaction,
            "SELECT 1 FROM pdm.models WHERE name = $1 AND version = $2", name, version))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }
        }

        ModelVersion? archived = null;
        if (stage == ModelStage.Production)
        {
            await using var archive = Command(connection, transaction, $"""
                UPDATE pdm.models SET stage = 'archived', stage_changed_at = now()
                WHERE name = $1 AND stage = 'production' AND version <> $2
                RETURNING {ModelColumns}
                """, name, version);
            archived = await ReadFirstAsync(archive, MapModel, cancellationToken);
        }
        // stage_changed_at stays as it was when the version is already in that stage.
        await using var promote = Command(connection, transaction, $"""
            UPDATE pdm.models
            SET stage = $3, stage_changed_at = CASE WHEN stage = $3 THEN stage_changed_at ELSE now() END
            WHERE name = $1 AND version = $2
            RETURNING {ModelColumns}
            """, name, version, StageText(stage));
        var promoted = (await ReadFirstAsync(promote, MapModel, cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new ModelPromotion(promoted, archived);
    }

    /// <summary>Every version of one name, or of all names when <paramref name="name"/> is null; by name, newest first.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListModelsAsync(string? name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand(
            $"SELECT {ModelColumns} FROM pdm.models WHERE $1::text IS NULL OR name = $1 ORDER BY name, version DESC", name);
        return await ReadAllAsync(command, MapModel, cancellationToken);
    }

    public async Task<ModelVersion?> GetModelAsync(string name, int version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var command = dataSource.PlatformCommand(
            $"SELECT {ModelColumns} FROM pdm.models WHERE name = $1 AND version = $2", name, version);
        return await ReadFirstAsync(command, MapModel, cancellationToken);
    }

    /// <returns>The production version of <paramref name="name"/>, or null when none is in production.</returns>
    public async Task<ModelVersion?> GetProductionModelAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var command = dataSource.PlatformCommand(
            $"SELECT {ModelColumns} FROM pdm.models WHERE name = $1 AND stage = 'production'", name);
        return await ReadFirstAsync(command, MapModel, cancellationToken);
    }

    /// <summary>The production version of every name of one kind ("anomaly", "rul", "state"), by name.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListProductionModelsAsync(string kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        await using var command = dataSource.PlatformCommand(
            $"SELECT {ModelColumns} FROM pdm.models WHERE kind = $1 AND stage = 'production' ORDER BY name", kind);
        return await ReadAllAsync(command, MapModel, cancellationToken);
    }

    public static string StageText(ModelStage stage) => stage switch
    {
        ModelStage.Staging => "staging",
        ModelStage.Production => "production",
        ModelStage.Archived => "archived",
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "Unknown model stage."),
    };

    /// <summary>Parses "staging", "production" or "archived" (any case).</summary>
    public static bool TryParseStage(string? text, out ModelStage stage)
    {
        foreach (var candidate in Enum.GetValues<ModelStage>())
        {
            if (string.Equals(text, StageText(candidate), StringComparison.OrdinalIgnoreCase))
            {
                stage = candidate;
                return true;
            }
        }
        stage = default;
        return false;
    }

    private static ModelVersion MapModel(NpgsqlDataReader reader) => new()
    {
        Name = reader.GetString(0),
        Version = reader.GetInt32(1),
        Kind = reader.GetString(2),
        Stage = TryParseStage(reader.GetString(3), out var stage)
            ? stage
            : throw new InvalidOperationException($"Unknown model stage '{reader.GetString(3)}' in the database."),
        ArtifactBlob = reader.GetString(4),
        ArtifactSha256 = Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(5)),
        ArtifactSize = reader.GetInt64(6),
        TrainingDataHash = reader.GetString(7),
        Metrics = JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(8)) ?? [],
        Parameters = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9)) ?? [],
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(10),
        StageChangedAt = reader.GetFieldValue<DateTimeOffset>(11),
    };
}
