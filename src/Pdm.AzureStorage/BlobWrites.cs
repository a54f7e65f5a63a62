using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Pdm.AzureStorage;

/// <summary>Whole-blob writes and reads the stores need, with "already there" and "not there" as results.</summary>
public static class BlobWrites
{
    /// <returns>False when <paramref name="overwrite"/> is false and the blob exists (it is left as it was).</returns>
    public static async Task<bool> WriteAsync(this BlobContainerClient container, string name, ReadOnlyMemory<byte> content,
        string contentType, bool overwrite, CancellationToken cancellationToken)
    {
        var options = new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } };
        if (!overwrite)
        {
            options.Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        }

        try
        {
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), options, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (!overwrite && ex.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            return false;
        }
    }

    /// <returns>The blob, or null when it does not exist (a missing container is an error).</returns>
    public static async Task<BlobDownloadResult?> ReadOrNullAsync(this BlobContainerClient container, string name,
        CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
    }
}
