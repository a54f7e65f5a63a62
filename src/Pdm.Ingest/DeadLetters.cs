using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pdm.Ingest;

/// <summary>A whole batch the database could not take, kept so a later replay stores it.</summary>
public sealed record DeadLetterBatch
{
    public int Version { get; init; } = 1;
    public required DateTimeOffset ParkedAt { get; init; }
    public required string Reason { get; init; }
    public required IReadOnlyList<IncomingEvent> Events { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, DeadLetterJson.Default.DeadLetterBatch);

    public static DeadLetterBatch FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, DeadLetterJson.Default.DeadLetterBatch)
        ?? throw new JsonException("dead-letter blob holds JSON null");
}

/// <summary>
/// Durable parking for batches the database refused (Blob storage in Azure, Azurite locally). Parked batches wait
/// for the database to come back; quarantined ones failed for their own content and wait for an operator.
/// </summary>
public interface IDeadLetterStore
{
    /// <summary>Stores the batch and returns its name.</summary>
    Task<string> ParkAsync(DeadLetterBatch batch, CancellationToken cancellationToken);

    /// <summary>Names of parked batches, oldest first (quarantined ones are not listed).</summary>
    IAsyncEnumerable<string> ListAsync(CancellationToken cancellationToken);

    Task<DeadLetterBatch?> ReadAsync(string name, CancellationToken cancellationToken);

    Task DeleteAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Moves a parked batch, unchanged (even when it cannot be read), out of the replay's way and keeps the reason
    /// beside it. Returns the quarantined name.
    /// </summary>
    Task<string> QuarantineAsync(string name, string reason, CancellationToken cancellationToken);

    /// <summary>How many batches are parked and quarantined, and since when.</summary>
    Task<DeadLetterSummary> SummarizeAsync(CancellationToken cancellationToken);
}

/// <summary>The dead-letter backlog at one moment.</summary>
/// <param name="OldestParkedAt">When the oldest parked batch was parked; null when none is.</param>
/// <param name="OldestQuarantinedAt">When the oldest quarantined batch was quarantined; null when none is.</param>
public sealed record DeadLetterSummary(
    int Parked, DateTimeOffset? OldestParkedAt, int Quarantined, DateTimeOffset? OldestQuarantinedAt)
{
    public static readonly DeadLetterSummary Empty = new(0, null, 0, null);

    /// <summary>How long the oldest parked batch has waited; zero when none is parked.</summary>
    public TimeSpan OldestParkedAge(DateTimeOffset now) =>
        OldestParkedAt is { } at && now > at ? now - at : TimeSpan.Zero;

    /// <summary>
    /// True when someone should look: a batch is quarantined (it will not be replayed by itself), or a batch has been
    /// parked longer than <paramref name="parkedAlertAge"/> (the replay cannot store it: the database is still away).
    /// </summary>
    public bool NeedsAttention(DateTimeOffset now, TimeSpan parkedAlertAge) =>
        Quarantined > 0 || (Parked > 0 && OldestParkedAge(now) > parkedAlertAge);
}

/// <summary>Where the originals of rejected messages go when their text could not be stored whole.</summary>
public interface IRejectedPayloadStore
{
    /// <summary>Stores the original bytes under a name derived from the message key (idempotent) and returns the name.</summary>
    Task<string> StoreAsync(Guid? tenantId, string messageKey, ReadOnlyMemory<byte> original, CancellationToken cancellationToken);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DeadLetterBatch))]
internal sealed partial class DeadLetterJson : JsonSerializerContext;
