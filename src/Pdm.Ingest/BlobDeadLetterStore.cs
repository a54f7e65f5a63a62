using System.Globalization;
using System.Runtime.CompilerServices;
using Pdm.Messaging.Storage;

namespace Pdm.Ingest;

/// <summary>
/// Dead letters as blobs, one per batch, named by the time they were parked so the service's lexical listing
/// order is also the order to replay them in.
/// </summary>
public sealed class BlobDeadLetterStore(BlobContainerClient container) : IDeadLetterStore
{
    private int _containerReady;

    public async Task<string> ParkAsync(DeadLetterBatch batch, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var name = string.Create(CultureInfo.InvariantCulture, $"{batch.ParkedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid():N}.json");
        await container.UploadAsync(name, batch.ToJson(), "application/json", overwrite: false, cancellationToken);
        return name;
    }

    public async IAsyncEnumerable<string> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        await foreach (var blob in container.ListAsync(cancellationToken: cancellationToken))
        {
            yield return blob.Name;
        }
    }

    public async Task<DeadLetterBatch?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var blob = await container.DownloadAsync(name, cancellationToken);
        return blob is null ? null : DeadLetterBatch.FromJson(blob.Content.Span);
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken) => container.DeleteAsync(name, cancellationToken);

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken);
            Volatile.Write(ref _containerReady, 1);
        }
    }
}
