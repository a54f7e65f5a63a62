using System.Text;
using Pdm.Messaging.Storage;

namespace Pdm.Messaging.Tests;

[Collection(StorageAzuriteCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class StorageBlobTests(StorageAzuriteFixture azurite)
{
    private async Task<BlobContainerClient> NewContainerAsync()
    {
        var container = azurite.Account.GetBlobContainer(StorageAzuriteFixture.UniqueName("blobs"));
        Assert.True(await container.CreateIfNotExistsAsync());
        return container;
    }

    [Fact]
    public async Task Creating_an_existing_container_reports_it_already_existed()
    {
        var container = await NewContainerAsync();

        Assert.False(await container.CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task Uploaded_bytes_download_unchanged_with_their_content_type()
    {
        var container = await NewContainerAsync();
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();

        Assert.True(await container.UploadAsync("models/pump 1/äöü.onnx", bytes, "application/x-onnx"));
        var blob = await container.DownloadAsync("models/pump 1/äöü.onnx");

        Assert.NotNull(blob);
        Assert.Equal(bytes, blob.Content.ToArray());
        Assert.Equal("application/x-onnx", blob.ContentType);
        Assert.False(string.IsNullOrEmpty(blob.ETag));
        Assert.InRange(blob.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task A_stream_that_cannot_seek_is_uploaded_whole()
    {
        var container = await NewContainerAsync();
        var text = string.Concat(Enumerable.Repeat("reading;", 1000));
        await using var stream = new ForwardOnlyStream(Encoding.UTF8.GetBytes(text));

        Assert.True(await container.UploadAsync("report.csv", stream, "text/csv"));

        var blob = await container.DownloadAsync("report.csv");
        Assert.Equal(text, Encoding.UTF8.GetString(blob!.Content.Span));
    }

    [Fact]
    public async Task Upload_without_overwrite_leaves_an_existing_blob_as_it_was()
    {
        var container = await NewContainerAsync();
        await container.UploadAsync("model.bin", "first"u8.ToArray());

        Assert.False(await container.UploadAsync("model.bin", "second"u8.ToArray(), overwrite: false));
        Assert.True(await container.UploadAsync("model.bin", "third"u8.ToArray(), overwrite: true));

        var blob = await container.DownloadAsync("model.bin");
        Assert.Equal("third", Encoding.UTF8.GetString(blob!.Content.Span));
    }

    [Fact]
    public async Task A_missing_blob_downloads_as_null_and_deletes_as_false()
    {
        var container = await NewContainerAsync();

        Assert.Null(await container.DownloadAsync("nothing-here.json"));
        Assert.False(await container.DeleteAsync("nothing-here.json"));
    }

    [Fact]
    public async Task A_deleted_blob_is_gone()
    {
        var container = await NewContainerAsync();
        await container.UploadAsync("dead-letter.json", "{}"u8.ToArray(), "application/json");

        Assert.True(await container.DeleteAsync("dead-letter.json"));

        Assert.Null(await container.DownloadAsync("dead-letter.json"));
    }

    [Fact]
    public async Task Listing_follows_continuation_markers_across_pages_and_keeps_to_the_prefix()
    {
        var container = await NewContainerAsync();
        var expected = Enumerable.Range(0, 7).Select(i => $"tenant-a/batch-{i:D2}.json").ToList();
        foreach (var (name, size) in expected.Select((n, i) => (n, i + 1)))
        {
            await container.UploadAsync(name, new byte[size * 10], "application/json");
        }

        await container.UploadAsync("tenant-b/batch-00.json", new byte[5]);

        int requestsBefore = azurite.Requests.Count;
        var listed = new List<BlobItem>();
        await foreach (var item in container.ListAsync("tenant-a/", pageSize: 2))
        {
            listed.Add(item);
        }

        // 7 blobs at 2 a page: 4 list requests, the last without a continuation marker.
        Assert.Equal(4, azurite.Requests.Count - requestsBefore);
        Assert.Equal(expected, listed.Select(b => b.Name));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i * 10), listed.Select(b => b.Size));
        Assert.All(listed, b => Assert.Equal("application/json", b.ContentType));
    }

    [Fact]
    public async Task Uploading_into_a_missing_container_fails_with_the_storage_error_code()
    {
        var container = azurite.Account.GetBlobContainer(StorageAzuriteFixture.UniqueName("missing"));

        var error = await Assert.ThrowsAsync<StorageRequestException>(
            () => container.UploadAsync("x.bin", new byte[1]));

        Assert.Equal(404, error.Status);
        Assert.Equal("ContainerNotFound", error.ErrorCode);
        Assert.False(string.IsNullOrEmpty(error.ServiceMessage));
        Assert.Contains("ContainerNotFound", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_signed_with_the_wrong_key_is_refused_as_forbidden()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var connectionString = azurite.Server.ConnectionString.Replace(
            StorageConnectionString.DevelopmentAccountKey, wrongKey, StringComparison.Ordinal);
        var container = StorageAccount.FromConnectionString(connectionString)
            .GetBlobContainer(StorageAzuriteFixture.UniqueName("forbidden"));

        var error = await Assert.ThrowsAsync<StorageRequestException>(() => container.CreateIfNotExistsAsync());

        Assert.Equal(403, error.Status);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
    }

    /// <summary>Like a network or pipe stream: read forward only, no length.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
