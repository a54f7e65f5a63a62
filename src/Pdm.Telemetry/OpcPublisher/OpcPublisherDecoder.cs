using System.Buffers;
using System.IO.Compression;
using System.Text.Json;

namespace Pdm.Telemetry.OpcPublisher;

/// <summary>
/// Decodes what Microsoft's OPC Publisher (2.9) sends into numeric values: PubSub JSON network messages (strict and
/// compatibility mode, single or batched), bare data set messages, and legacy Samples messages (single or batched),
/// plain or gzip-compressed (<c>--me=JsonGzip</c>). See docs/azure-contracts.md section 7.
/// </summary>
public static class OpcPublisherDecoder
{
    /// <summary>
    /// Largest body accepted after decompression. IoT Hub messages are at most 256 KiB, so anything near this is a
    /// compression bomb, not telemetry.
    /// </summary>
    public const int MaxDecompressedBytes = 16 * 1024 * 1024;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Decodes one message body. Never throws on bad input: structural problems become <see cref="DecodeError"/>s,
    /// fields without a usable number become <see cref="OpcSkippedValue"/>s, and every good value is still returned.
    /// </summary>
    /// <param name="utf8Body">The message body: UTF-8 JSON, or gzip-compressed UTF-8 JSON (recognised by its magic bytes).</param>
    /// <param name="contentType">
    /// The message's content type (<c>$$ContentType</c> or the MQTT content type), or null. Only used to refuse
    /// encodings that are not JSON, such as UADP binary; the body's shape decides how it is read.
    /// </param>
    public static OpcDecodeResult Decode(ReadOnlySpan<byte> utf8Body, string? contentType)
    {
        var result = new OpcDecodeResult();
        if (!IsJsonContentType(contentType))
        {
            result.Errors.Add(new DecodeError("", $"content type '{JsonText.Shorten(contentType!, 80)}' is not an OPC Publisher JSON encoding"));
            return result;
        }
        byte[]? rented = null;
        try
        {
            int length;
            if (IsGzip(utf8Body))
            {
                if (!TryGunzip(utf8Body, out rented, out length, out var problem))
                {
                    result.Errors.Add(new DecodeError("", problem));
                    return result;
                }
            }
            else
            {
                // JsonDocument needs memory it can keep for its lifetime; a pooled copy keeps that off the GC heap.
                rented = ArrayPool<byte>.Shared.Rent(Math.Max(utf8Body.Length, 1));
                utf8Body.CopyTo(rented);
                length = utf8Body.Length;
            }
            var json = rented.AsMemory(0, length);
            if (json.Span.StartsWith("\uFEFF"u8))
            {
                json = json[3..];
            }
            if (json.IsEmpty)
            {
                result.Errors.Add(new DecodeError("", "empty message body"));
                return result;
            }
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(json, DocumentOptions);
            }
            catch (JsonException ex)
            {
                result.Errors.Add(new DecodeError("", "invalid JSON: " + JsonText.Shorten(ex.Message, 240)));
                return result;
            }
            using (document)
            {
                try
                {
                    new OpcMessageWalker(result).Walk(document.RootElement);
                }
                catch (InvalidOperationException ex)
                {
                    // Thrown for text that has no .NET string, such as an escaped lone UTF-16 surrogate ("\ud800").
                    result.Errors.Add(new DecodeError("", "invalid JSON text: " + JsonText.Shorten(ex.Message, 240)));
                }
            }
            return result;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsJsonContentType(string? contentType) =>
        string.IsNullOrWhiteSpace(contentType)
        || contentType.Contains("json", StringComparison.OrdinalIgnoreCase);

    // Every gzip member starts with these two bytes; JSON text never does.
    private static bool IsGzip(ReadOnlySpan<byte> body) => body.Length >= 2 && body[0] == 0x1F && body[1] == 0x8B;

    private static bool TryGunzip(ReadOnlySpan<byte> compressed, out byte[]? output, out int length, out string problem)
    {
        var input = ArrayPool<byte>.Shared.Rent(compressed.Length);
        compressed.CopyTo(input);
        output = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(compressed.Length * 8, 4096), MaxDecompressedBytes));
        length = 0;
        problem = "";
        try
        {
            using var gzip = new GZipStream(new MemoryStream(input, 0, compressed.Length, writable: false), CompressionMode.Decompress);
            while (true)
            {
                var capacity = Math.Min(output.Length, MaxDecompressedBytes);
                if (length == capacity)
                {
                    if (capacity == MaxDecompressedBytes)
                    {
                        problem = $"gzip body is larger than {MaxDecompressedBytes / (1024 * 1024)} MiB once decompressed";
                        return false;
                    }
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(output.Length * 2, MaxDecompressedBytes));
                    output.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(output);
                    output = larger;
                    continue;
                }
                var read = gzip.Read(output, length, capacity - length);
                if (read == 0)
                {
                    return true;
                }
                length += read;
            }
        }
        catch (InvalidDataException ex)
        {
            problem = "gzip body could not be decompressed: " + JsonText.Shorten(ex.Message, 160);
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }
}
