using System.Globalization;
using System.Runtime.CompilerServices;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.Messaging.Storage;

/// <summary>A blob as listed: name, size and last change.</summary>
public sealed record BlobItem
{
    public required string Name { get; init; }
    public required long Size { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public string? ContentType { get; init; }
}

/// <summary>A downloaded blob.</summary>
public sealed record BlobContent
{
    public required ReadOnlyMemory<byte> Content { get; init; }
    public string? ContentType { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required string ETag { get; init; }
}

/// <summary>Block blobs in one container, each uploaded and downloaded whole (models, reports, dead letters).</summary>
public sealed class BlobContainerClient
{
    private const string DefaultContentType = "application/octet-stream";

    private readonly HttpPipeline _pipeline;

    internal BlobContainerClient(HttpPipeline pipeline, Uri blobEndpoint, string containerName)
    {
        StorageRest.ValidateResourceName(containerName, "container");
        _pipeline = pipeline;
        Name = containerName;
        Uri = StorageRest.Child(blobEndpoint, containerName);
    }

    public string Name { get; }

    public Uri Uri { get; }

    /// <returns>True when this call created the container, false when it already existed.</returns>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Put, Uri);
        message.Request.Uri.AppendQuery("restype", "container");
        var response = await StorageRest.SendAsync(_pipeline, message, [201, 409], cancellationToken);
        if (response.Status == 409 && StorageRest.ErrorCode(response) != "ContainerAlreadyExists")
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response.Status == 201;
    }

    /// <returns>False when <paramref name="overwrite"/> is false and the blob already exists (it is left as it was).</returns>
    public Task<bool> UploadAsync(
        string blobName,
        ReadOnlyMemory<byte> content,
        string contentType = DefaultContentType,
        bool overwrite = true,
        CancellationToken cancellationToken = default) =>
        PutBlobAsync(blobName, RequestContent.Create(content), contentType, overwrite, cancellationToken);

    /// <inheritdoc cref="UploadAsync(string, ReadOnlyMemory{byte}, string, bool, CancellationToken)"/>
    public async Task<bool> UploadAsync(
        string blobName,
        Stream content,
        string contentType = DefaultContentType,
        bool overwrite = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.CanSeek)
        {
            return await PutBlobAsync(blobName, RequestContent.Create(content), contentType, overwrite, cancellationToken);
        }

        // Put Blob needs a Content-Length and a retry needs to resend: buffer streams that cannot seek.
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        return await PutBlobAsync(
            blobName, RequestContent.Create(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)),
            contentType, overwrite, cancellationToken);
    }

    /// <returns>The blob, or null when it does not exist.</returns>
    public async Task<BlobContent?> DownloadAsync(string blobName, CancellationToken cancellationToken = default)
    {
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Get, BlobUri(blobName));
        var response = await StorageRest.SendAsync(_pipeline, message, [200, 404], cancellationToken);
        if (response.Status == 404)
        {
            return StorageRest.ErrorCode(response) == "BlobNotFound"
                ? null
                : throw StorageRequestException.FromResponse(response);
        }

        return new BlobContent
        {
            Content = response.Content.ToMemory(),
            ContentType = response.Headers.ContentType,
            LastModified = StorageRest.ParseDate(StorageRest.RequiredHeader(response, "Last-Modified")),
            ETag = StorageRest.RequiredHeader(response, "ETag"),
        };
    }

    /// <summary>Lists blobs whose names start with <paramref name="prefix"/>, in name order, page by page.</summary>
    /// <param name="pageSize">Blobs per request (the service caps it at 5000); null for the service default.</param>
    public async IAsyncEnumerable<BlobItem> ListAsync(
        string? prefix = null,
        int? pageSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (pageSize is < 1 or > 5000)
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "The page size must be 1 to 5000.");
        }

        string? marker = null;
        do
        {
            using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Get, Uri);
            var uri = message.Request.Uri;
            uri.AppendQuery("restype", "container");
            uri.AppendQuery("comp", "list");
            if (!string.IsNullOrEmpty(prefix))
            {
                uri.AppendQuery("prefix", prefix);
            }

            if (pageSize is int size)
            {
                uri.AppendQuery("maxresults", size.ToString(CultureInfo.InvariantCulture));
            }

            if (marker is not null)
            {
                uri.AppendQuery("marker", marker);
            }

            var response = await StorageRest.SendAsync(_pipeline, message, [200], cancellationToken);
            var results = StorageRest.ParseXml(response);
            foreach (var blob in results.Element("Blobs")?.Elements("Blob") ?? [])
            {
                var properties = blob.Element("Properties")
                    ?? throw new InvalidDataException("A listed blob has no <Properties>.");
                yield return new BlobItem
                {
                    Name = StorageRest.Required(blob, "Name"),
                    Size = long.Parse(StorageRest.Required(properties, "Content-Length"), CultureInfo.InvariantCulture),
                    LastModified = StorageRest.RequiredDate(properties, "Last-Modified"),
                    ContentType = properties.Element("Content-Type")?.Value,
                };
            }

            marker = results.Element("NextMarker")?.Value;
        }
        while (!string.IsNullOrEmpty(marker));
    }

    /// <returns>True when the blob was deleted, false when it did not exist.</returns>
    public async Task<bool> DeleteAsync(string blobName, CancellationToken cancellationToken = default)
    {
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Delete, BlobUri(blobName));
        var response = await StorageRest.SendAsync(_pipeline, message, [202, 404], cancellationToken);
        if (response.Status == 404 && StorageRest.ErrorCode(response) != "BlobNotFound")
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response.Status == 202;
    }

    private async Task<bool> PutBlobAsync(
        string blobName, RequestContent content, string contentType, bool overwrite, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Put, BlobUri(blobName));
        var request = message.Request;
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        request.Headers.SetValue(HttpHeader.Names.ContentType, contentType);
        if (!overwrite)
        {
            request.Headers.SetValue(HttpHeader.Names.IfNoneMatch, "*");
        }

        request.Content = content;
        var response = await StorageRest.SendAsync(_pipeline, message, [201, 409], cancellationToken);
        if (response.Status == 409 && (overwrite || StorageRest.ErrorCode(response) != "BlobAlreadyExists"))
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response.Status == 201;
    }

    private Uri BlobUri(string blobName)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        if (blobName.Length > 1024)
        {
            throw new ArgumentException($"Blob names are at most 1024 characters; this one has {blobName.Length}.", nameof(blobName));
        }

        // Escape each segment but keep '/', so virtual folders stay readable in the URI.
        var escaped = string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString));
        return StorageRest.Child(Uri, escaped);
    }
}
