using System.Text;
using Azure.Storage.Blobs;
using Pdm.Testing;

namespace Pdm.Ingest.Tests;

/// <summary>The blob stores of dead letters and rejected originals, on the storage SDK against Azurite.</summary>
[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class BlobDeadLetterStoreTests(RegistryFixture fixture)
{
    private static readonly DateTimeOffset ParkedAt = new(2026, 12, 3, 8, 15, 30, 123, TimeSpan.Zero);

    [Fact]
    public async Task Parked_batches_are_listed_oldest_first_and_read_back_whole()
    {
        var store = new BlobDeadLetterStore(NewContainer());
        var late = await store.ParkAsync(Batch(ParkedAt.AddSeconds(5), "late"), CancellationToken.None);
        var early = await store.ParkAsync(Batch(ParkedAt, "early"), CancellationToken.None);

        var names = await ListAsync(store);
        var batch = await store.ReadAsync(early, CancellationToken.None);

        Assert.Equal([early, late], names);
        Assert.StartsWith("20261203T081530123-", early, StringComparison.Ordinal);
        Assert.NotNull(batch);
        Assert.Equal((ParkedAt, "early", "dev-1"), (batch.ParkedAt, batch.Reason, Assert.Single(batch.Events).DeviceId));
    }

    [Fact]
    public async Task A_parked_batch_is_stored_as_json_and_never_overwritten()
    {
        var container = NewContainer();
        var store = new BlobDeadLetterStore(container);

        var names = new[] { await store.ParkAsync(Batch(ParkedAt, "a"), CancellationToken.None),
            await store.ParkAsync(Batch(ParkedAt, "b"), CancellationToken.None) };

        // Same park time, two batches: the names differ, so neither replaces the other.
        Assert.NotEqual(names[0], names[1]);
        var properties = await container.GetBlobClient(names[0]).GetPropertiesAsync();
        Assert.Equal("application/json", properties.Value.ContentType);
    }

    [Fact]
    public async Task Reading_or_deleting_a_batch_that_is_gone_is_not_an_error()
    {
        var store = new BlobDeadLetterStore(NewContainer());
        var name = await store.ParkAsync(Batch(ParkedAt, "x"), CancellationToken.None);

        await store.DeleteAsync(name, CancellationToken.None);
        await store.DeleteAsync(name, CancellationToken.None);

        Assert.Null(await store.ReadAsync(name, CancellationToken.None));
        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task Quarantine_moves_the_batch_unchanged_beside_its_reason_and_out_of_the_listing()
    {
        var container = NewContainer();
        var clock = new FixedClock(ParkedAt.AddHours(1));
        var store = new BlobDeadLetterStore(container, clock);
        await store.ParkAsync(Batch(ParkedAt, "kept"), CancellationToken.None);
        const string corrupt = "20261203T081530000-corrupt.json";
        await container.UploadBlobAsync(corrupt, BinaryData.FromString("{\"events\":[tru"));

        var moved = await store.QuarantineAsync(corrupt, "cannot be read: JSON ends early", CancellationToken.None);

        Assert.Equal("quarantine/" + corrupt, moved);
        Assert.Equal("{\"events\":[tru", (await container.GetBlobClient(moved).DownloadContentAsync()).Value.Content.ToString());
        var reason = (await container.GetBlobClient(moved + ".reason.txt").DownloadContentAsync()).Value;
        Assert.Equal("2026-12-03T09:15:30.1230000+00:00\ncannot be read: JSON ends early\n", reason.Content.ToString());
        Assert.Equal("text/plain; charset=utf-8", reason.Details.ContentType);
        Assert.DoesNotContain(corrupt, await ListAsync(store));
        Assert.False(await container.GetBlobClient(corrupt).ExistsAsync());
    }

    [Fact]
    public async Task The_summary_counts_parked_and_quarantined_batches_and_their_oldest_times()
    {
        var container = NewContainer();
        var store = new BlobDeadLetterStore(container);
        Assert.Equal(DeadLetterSummary.Empty, await store.SummarizeAsync(CancellationToken.None));
        await store.ParkAsync(Batch(ParkedAt.AddMinutes(2), "newer"), CancellationToken.None);
        var oldest = await store.ParkAsync(Batch(ParkedAt, "oldest"), CancellationToken.None);
        var bad = await store.ParkAsync(Batch(ParkedAt.AddMinutes(1), "bad"), CancellationToken.None);
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        await store.QuarantineAsync(bad, "refused", CancellationToken.None);

        var summary = await store.SummarizeAsync(CancellationToken.None);

        Assert.Equal((2, ParkedAt, 1), (summary.Parked, summary.OldestParkedAt, summary.Quarantined));
        Assert.InRange(summary.OldestQuarantinedAt!.Value, before, DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Contains(oldest, await ListAsync(store));
    }

    [Fact]
    public async Task A_rejected_original_is_kept_under_its_tenant_and_a_replay_rewrites_the_same_blob()
    {
        var container = NewContainer();
        var store = new BlobRejectedPayloadStore(container);
        var tenant = Guid.NewGuid();
        var original = Encoding.UTF8.GetBytes("{\"temperature\":1}\0garbage");

        var name = await store.StoreAsync(tenant, "k1", original, CancellationToken.None);
        var again = await store.StoreAsync(tenant, "k1", original, CancellationToken.None);
        var unattributed = await store.StoreAsync(null, "k2", new byte[] { 0xff }, CancellationToken.None);

        Assert.Equal($"{tenant:D}/k1.bin", name);
        Assert.Equal(name, again);
        Assert.Equal("unattributed/k2.bin", unattributed);
        var blob = (await container.GetBlobClient(name).DownloadContentAsync()).Value;
        Assert.Equal(original, blob.Content.ToArray());
        Assert.Equal("application/octet-stream", blob.Details.ContentType);
    }

    [Fact]
    public async Task Storage_that_refuses_is_an_error_the_caller_sees()
    {
        // Parking must never pretend to succeed: the batch would be lost.
        var store = new BlobDeadLetterStore(fixture.Storage.Blobs.GetBlobContainerClient("Not_A_Valid_Container"));

        var error = await Assert.ThrowsAsync<Azure.RequestFailedException>(() =>
            store.ParkAsync(Batch(ParkedAt, "x"), CancellationToken.None));

        Assert.Equal(400, error.Status);
        Assert.True(Pdm.AzureStorage.StorageClients.IsUnavailable(error));
    }

    private BlobContainerClient NewContainer() => fixture.Storage.Blobs.GetBlobContainerClient($"dl-{Guid.NewGuid():N}");

    private static DeadLetterBatch Batch(DateTimeOffset parkedAt, string reason) => new()
    {
        ParkedAt = parkedAt,
        Reason = reason,
        Events = [new IncomingEvent { Body = "{}", DeviceId = "dev-1", EnqueuedTime = parkedAt, MessageId = "1" }],
    };

    private static async Task<List<string>> ListAsync(BlobDeadLetterStore store)
    {
        var names = new List<string>();
        await foreach (var name in store.ListAsync(CancellationToken.None))
        {
            names.Add(name);
        }
        return names;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
