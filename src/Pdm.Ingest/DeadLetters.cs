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

/// <summary>Durable parking for batches the database refused (Blob storage in Azure, Azurite locally).</summary>
public interface IDeadLetterStore
{
    /// <summary>Stores the batch and returns its name.</summary>
    Task<string> ParkAsync(DeadLetterBatch batch, CancellationToken cancellationToken);

    /// <summary>Names of parked batches, oldest first.</summary>
    IAsyncEnumerable<string> ListAsync(CancellationToken cancellationToken);

    Task<DeadLetterBatch?> ReadAsync(string name, CancellationToken cancellationToken);

    Task DeleteAsync(string name, CancellationToken cancellationToken);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DeadLetterBatch))]
internal sealed partial class DeadLetterJson : JsonSerializerContext;
