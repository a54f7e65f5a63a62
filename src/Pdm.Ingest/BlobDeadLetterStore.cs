using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Pdm.AzureStorage;

namespace Pdm.Ingest;

/// <summary>
/// Dead letters as blobs, one per batch, named by the time they were parked so the service's lexical listing
/// order is also the order to replay them in. Quarantined batches move under <see cref="QuarantinePrefix"/> in the
/// same container, unchanged, with a <c>.reason.txt</c> blob beside each; copy one back to the top level to replay it.
/// </summary>
public sealed class BlobDeadLetterStore(BlobContainerClient container, TimeProvider clock) : IDeadLetterStore
{
    public const string QuarantinePrefix = "quarantine/";
    private const string ReasonSuffix = ".reason.txt";

    private int _containerReady;

    public BlobDeadLetterStore(BlobContainerClient container) : this(container, TimeProvider.System)
    {
    }

    public async Task<string> ParkAsync(DeadLetterBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await EnsureContainerAsync(cancellationToken);
        var name = string.Create(CultureInfo.InvariantCulture, $"{batch.ParkedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid():N}.json");
        await container.WriteAsync(name, batch.ToJson(), "application/json", overwrite: false, cancellationToken);
        return name;
    }

    public async IAsyncEnumerable<string> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            if (IsParked(blob.Name))
            {
                yield return blob.Name;
            }
        }
    }

    public async Task<DeadLetterBatch?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var blob = await container.ReadOrNullAsync(name, cancellationToken);
        return blob is null ? null : DeadLetterBatch.FromJson(blob.Content.ToMemory().Span);
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken) =>
        container.DeleteBlobIfExistsAsync(name, cancellationToken: cancellationToken);

    public async Task<string> QuarantineAsync(string name, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(reason);
        var quarantined = QuarantinePrefix + name;
        var blob = await container.ReadOrNullAsync(name, cancellationToken);
        if (blob is not null)
        {
            // Reason first: a quarantined batch without its reason would be a mystery; a reason without the batch
            // (when the move is interrupted) is rewritten by the next replay, which still finds the batch parked.
            var note = string.Create(CultureInfo.InvariantCulture, $"{clock.GetUtcNow():O}\n{reason}\n");
            await container.WriteAsync(quarantined + ReasonSuffix, Encoding.UTF8.GetBytes(note), "text/plain; charset=utf-8",
                overwrite: true, cancellationToken);
            await container.WriteAsync(quarantined, blob.Content.ToMemory(), blob.Details.ContentType ?? "application/json",
                overwrite: true, cancellationToken);
        }
        await container.DeleteBlobIfExistsAsync(name, cancellationToken: cancellationToken);
        return quarantined;
    }

    public async Task<DeadLetterSummary> SummarizeAsync(CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var parked = 0;
        var quarantined = 0;
        DateTimeOffset? oldestParked = null;
        DateTimeOffset? oldestQuarantined = null;
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            if (IsParked(blob.Name))
            {
                parked++;
                oldestParked = Min(oldestParked, ParkedAt(blob));
            }
            else if (blob.Name.StartsWith(QuarantinePrefix, StringComparison.Ordinal)
                && !blob.Name.EndsWith(ReasonSuffix, StringComparison.Ordinal))
            {
                quarantined++;
                oldestQuarantined = Min(oldestQuarantined, LastModified(blob));
            }
        }
        return new DeadLetterSummary(parked, oldestParked, quarantined, oldestQuarantined);
    }

    private static bool IsParked(string name) => !name.Contains('/', StringComparison.Ordinal);

    /// <summary>The time in the name (when it was parked), else when the blob was written.</summary>
    private DateTimeOffset ParkedAt(BlobItem blob) =>
        blob.Name.Length >= 18 && DateTime.TryParseExact(blob.Name[..18], "yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero)
            : LastModified(blob);

    // Listings always carry it; the SDK's model only makes it optional.
    private DateTimeOffset LastModified(BlobItem blob) => blob.Properties.LastModified ?? clock.GetUtcNow();

    private static DateTimeOffset Min(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x < b ? x : b;

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref _containerReady, 1);
        }
    }
}

/// <summary>Originals of rejected messages as blobs named <c>&lt;tenant or unattributed&gt;/&lt;message key&gt;.bin</c>.</summary>
public sealed class BlobRejectedPayloadStore(BlobContainerClient container) : IRejectedPayloadStore
{
    private int _containerReady;

    public async Task<string> StoreAsync(Guid? tenantId, string messageKey, ReadOnlyMemory<byte> original,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageKey);
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref _containerReady, 1);
        }
        var name = $"{(tenantId is { } tenant ? tenant.ToString("D") : "unattributed")}/{messageKey}.bin";
        // The key is a hash of the message, so a replay writes the same bytes again: overwriting is harmless.
        await container.WriteAsync(name, original, "application/octet-stream", overwrite: true, cancellationToken);
        return name;
    }
}
