using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Pdm.LocalStack;
using Pdm.AzureStorage;

namespace Pdm.AzureStorage.Tests;

/// <summary>
/// The storage SDK (its newest service version) against the Azurite the project installs, for every operation the
/// platform uses: Azurite is started with --skipApiVersionCheck, so these show that the calls themselves work.
/// </summary>
[Collection(StorageAzuriteCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class StorageSdkAzuriteTests(StorageAzuriteFixture azurite)
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_container_is_created_once_and_blobs_round_trip_with_their_content_type()
    {
        var container = azurite.Clients.Blobs.GetBlobContainerClient(StorageAzuriteFixture.UniqueName("blobs"));
        Assert.NotNull(await container.CreateIfNotExistsAsync());
        Assert.Null(await container.CreateIfNotExistsAsync());
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        var blob = container.GetBlobClient("models/pump 1/äöü.bin");

        await blob.UploadAsync(BinaryData.FromBytes(bytes),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-pdm-model" } });
        var downloaded = (await blob.DownloadContentAsync()).Value;

        Assert.Equal(bytes, downloaded.Content.ToArray());
        Assert.Equal("application/x-pdm-model", downloaded.Details.ContentType);
        Assert.InRange(downloaded.Details.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task Upload_only_if_missing_is_refused_with_blob_already_exists_and_leaves_the_blob()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("model.bin");
        await blob.UploadAsync(BinaryData.FromString("first"));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => blob.UploadAsync(BinaryData.FromString("second"),
            new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }));

        Assert.Equal(BlobErrorCode.BlobAlreadyExists.ToString(), error.ErrorCode);
        Assert.Equal("first", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task Listing_follows_continuation_tokens_across_pages_and_keeps_to_the_prefix()
    {
        var container = await NewContainerAsync();
        var expected = Enumerable.Range(0, 7).Select(i => $"tenant-a/batch-{i:D2}.json").ToList();
        foreach (var (name, size) in expected.Select((n, i) => (n, i + 1)))
        {
            await container.UploadBlobAsync(name, BinaryData.FromBytes(new byte[size * 10]));
        }
        await container.UploadBlobAsync("tenant-b/batch-00.json", BinaryData.FromBytes(new byte[5]));

        var requestsBefore = azurite.Requests.Count;
        var listed = new List<BlobItem>();
        await foreach (var page in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "tenant-a/" }).AsPages(pageSizeHint: 2))
        {
            listed.AddRange(page.Values);
        }

        // 7 blobs at 2 a page: 4 list requests, the last without a continuation token.
        Assert.Equal(4, azurite.Requests.Count - requestsBefore);
        Assert.Equal(expected, listed.Select(b => b.Name));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long?)i * 10), listed.Select(b => b.Properties.ContentLength));
        Assert.All(listed, b => Assert.NotNull(b.Properties.LastModified));
    }

    [Fact]
    public async Task A_deleted_blob_is_gone_and_deleting_it_again_reports_false()
    {
        var container = await NewContainerAsync();
        await container.UploadBlobAsync("dead-letter.json", BinaryData.FromString("{}"));

        Assert.True(await container.DeleteBlobIfExistsAsync("dead-letter.json"));

        Assert.False(await container.DeleteBlobIfExistsAsync("dead-letter.json"));
        var error = await Assert.ThrowsAsync<RequestFailedException>(() => container.GetBlobClient("dead-letter.json").DownloadContentAsync());
        Assert.Equal((404, "BlobNotFound"), (error.Status, error.ErrorCode));
    }

    [Fact]
    public async Task Uploading_into_a_missing_container_fails_with_the_storage_error_code()
    {
        var container = azurite.Clients.Blobs.GetBlobContainerClient(StorageAzuriteFixture.UniqueName("missing"));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => container.UploadBlobAsync("x.bin", BinaryData.FromBytes([1])));

        Assert.Equal((404, "ContainerNotFound"), (error.Status, error.ErrorCode));
        Assert.True(StorageClients.IsUnavailable(error));
    }

    [Fact]
    public async Task A_request_signed_with_the_wrong_key_is_refused_as_forbidden()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var clients = StorageClients.FromConnectionString(
            azurite.Server.ConnectionString.Replace(AzuriteServer.AccountKey, wrongKey, StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() =>
            clients.Blobs.GetBlobContainerClient(StorageAzuriteFixture.UniqueName("forbidden")).CreateIfNotExistsAsync());

        Assert.Equal(403, error.Status);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
    }

    [Fact]
    public async Task A_stopped_account_is_unavailable_after_the_retries()
    {
        var clients = StorageClients.FromConnectionString(
            azurite.Server.ConnectionString.Replace($":{azurite.Server.BlobEndpoint.Port}/", $":{FreePort.Pick()}/", StringComparison.Ordinal),
            options =>
            {
                options.Retry.MaxRetries = 1;
                options.Retry.Delay = TimeSpan.FromMilliseconds(10);
            });

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            clients.Blobs.GetBlobContainerClient("ingest-deadletter").CreateIfNotExistsAsync());

        Assert.True(StorageClients.IsUnavailable(error), error.ToString());
    }

    [Fact]
    public async Task A_sent_message_is_received_once_and_deleted()
    {
        var queue = await NewQueueAsync();
        const string text = """{"tenant":"acme","alert":"bearing <temp> & vibration"}""";

        var sent = (await queue.SendMessageAsync(text)).Value;
        var received = Assert.Single((await queue.ReceiveMessagesAsync(10, TimeSpan.FromMinutes(1))).Value);

        Assert.Equal(sent.MessageId, received.MessageId);
        Assert.Equal(text, received.Body.ToString());
        Assert.Equal(1, received.DequeueCount);
        Assert.True(received.NextVisibleOn > DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.Empty((await queue.ReceiveMessagesAsync()).Value);

        await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt);
        Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var error = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        Assert.Equal(404, error.Status);
    }

    [Fact]
    public async Task Messages_are_base64_utf8_on_the_wire_as_the_functions_queue_trigger_expects()
    {
        var queue = await NewQueueAsync();
        var plainView = new QueueClient(azurite.Server.ConnectionString, queue.Name,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        const string text = """{"device":"pump-7","note":"Überdruck ≥ 5 bar"}""";

        await queue.SendMessageAsync(text);

        var onTheWire = Assert.Single((await plainView.PeekMessagesAsync()).Value);
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), onTheWire.Body.ToString());
        Assert.Equal(text, Assert.Single((await queue.PeekMessagesAsync()).Value).Body.ToString());
    }

    [Fact]
    public async Task An_undeleted_message_comes_back_with_a_higher_dequeue_count_after_its_visibility_timeout()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("retry me");

        var first = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value);
        var second = await ReceiveOneWithinAsync(queue, WaitLimit);

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal((1, 2), (first.DequeueCount, second.DequeueCount));
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
    }

    [Fact]
    public async Task Updating_visibility_to_zero_returns_the_message_with_new_text_and_invalidates_the_old_receipt()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("attempt 1");
        var received = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1))).Value);

        var updated = (await queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, "attempt 2", TimeSpan.Zero)).Value;

        Assert.NotEqual(received.PopReceipt, updated.PopReceipt);
        var again = await ReceiveOneWithinAsync(queue, WaitLimit);
        Assert.Equal("attempt 2", again.Body.ToString());
        await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        await queue.DeleteMessageAsync(again.MessageId, again.PopReceipt);
    }

    [Fact]
    public async Task Receiving_from_a_missing_queue_fails_with_queue_not_found()
    {
        var queue = azurite.Clients.Queues.GetQueueClient(StorageAzuriteFixture.UniqueName("missing"));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => queue.ReceiveMessagesAsync());

        Assert.Equal((404, "QueueNotFound"), (error.Status, error.ErrorCode));
    }

    [Fact]
    public async Task A_table_is_created_once_and_entities_come_back_by_partition_in_row_key_order()
    {
        var table = azurite.Clients.Tables.GetTableClient(StorageAzuriteFixture.UniqueTableName("attempts"));
        Assert.NotNull((await table.CreateIfNotExistsAsync()).Value);
        await table.CreateIfNotExistsAsync();
        foreach (var row in new[] { "b", "c", "a" })
        {
            await table.AddEntityAsync(new TableEntity("acme|sub-1", row) { ["Note"] = $"Überdruck {row}", ["Status"] = 503 });
        }
        await table.AddEntityAsync(new TableEntity("other|sub-1", "a") { ["Note"] = "another tenant" });

        var rows = await table.QueryAsync<TableEntity>(e => e.PartitionKey == "acme|sub-1").ToListAsync();

        Assert.Equal(["a", "b", "c"], rows.Select(r => r.RowKey));
        Assert.Equal("Überdruck a", rows[0].GetString("Note"));
        Assert.Equal(503, rows[0].GetInt32("Status"));
    }

    [Fact]
    public async Task Adding_an_entity_twice_fails_with_entity_already_exists()
    {
        var table = azurite.Clients.Tables.GetTableClient(StorageAzuriteFixture.UniqueTableName("dupes"));
        await table.CreateAsync();
        await table.AddEntityAsync(new TableEntity("p", "r"));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => table.AddEntityAsync(new TableEntity("p", "r")));

        Assert.Equal((409, "EntityAlreadyExists"), (error.Status, error.ErrorCode));
    }

    [Fact]
    public async Task Querying_a_missing_table_fails_with_table_not_found()
    {
        var table = azurite.Clients.Tables.GetTableClient(StorageAzuriteFixture.UniqueTableName("missing"));

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => table.QueryAsync<TableEntity>().ToListAsync().AsTask());

        Assert.Equal((404, "TableNotFound"), (error.Status, error.ErrorCode));
    }

    private async Task<BlobContainerClient> NewContainerAsync()
    {
        var container = azurite.Clients.Blobs.GetBlobContainerClient(StorageAzuriteFixture.UniqueName("blobs"));
        await container.CreateAsync();
        return container;
    }

    private async Task<QueueClient> NewQueueAsync()
    {
        var queue = azurite.Clients.Queues.GetQueueClient(StorageAzuriteFixture.UniqueName("q"));
        Assert.NotNull(await queue.CreateIfNotExistsAsync());
        Assert.Null(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    private static async Task<QueueMessage> ReceiveOneWithinAsync(QueueClient queue, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(cancellationToken: timeout.Token)).Value;
            if (messages.Length > 0)
            {
                return Assert.Single(messages);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token);
        }
    }
}
