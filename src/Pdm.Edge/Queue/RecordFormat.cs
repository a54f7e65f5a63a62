using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Pdm.Edge.Queue;

/// <summary>
/// One record in a segment file: an 8-byte header (body length, CRC-32 of the body) and the body (sequence,
/// enqueue time in UTC ticks, stream name length, stream name in UTF-8, payload), all little endian. The length and
/// CRC let recovery tell a complete record from one a killed process left half written.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderBytes = 8;
    public const int FixedBodyBytes = 18;
    public const int MaxStreamBytes = 1024;

    public static int SizeOf(int streamBytes, int payloadBytes) => HeaderBytes + FixedBodyBytes + streamBytes + payloadBytes;

    public static void Write(Span<byte> record, long sequence, DateTimeOffset enqueuedAt, string stream, int streamBytes,
        ReadOnlySpan<byte> payload)
    {
        var body = record[HeaderBytes..];
        BinaryPrimitives.WriteInt64LittleEndian(body, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], enqueuedAt.UtcTicks);
        BinaryPrimitives.WriteUInt16LittleEndian(body[16..], (ushort)streamBytes);
        Encoding.UTF8.GetBytes(stream, body.Slice(FixedBodyBytes, streamBytes));
        payload.CopyTo(body[(FixedBodyBytes + streamBytes)..]);
        BinaryPrimitives.WriteInt32LittleEndian(record, body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Crc32.HashToUInt32(body));
    }

    /// <summary>The body length a header announces, or -1 when no record can start with these bytes.</summary>
    public static int BodyLength(ReadOnlySpan<byte> header)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        return length >= FixedBodyBytes ? length : -1;
    }

    public static bool IsIntact(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == Crc32.HashToUInt32(body)
        && FixedBodyBytes + BinaryPrimitives.ReadUInt16LittleEndian(body[16..]) <= body.Length;

    public static long Sequence(ReadOnlySpan<byte> body) => BinaryPrimitives.ReadInt64LittleEndian(body);

    public static DateTimeOffset EnqueuedAt(ReadOnlySpan<byte> body) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(body[8..]), TimeSpan.Zero);

    public static string Stream(ReadOnlySpan<byte> body) =>
        Encoding.UTF8.GetString(body.Slice(FixedBodyBytes, BinaryPrimitives.ReadUInt16LittleEndian(body[16..])));

    public static QueueRecord Decode(long id, byte[] body)
    {
        var streamBytes = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(16));
        return new QueueRecord
        {
            Id = id,
            Stream = Stream(body),
            Sequence = Sequence(body),
            EnqueuedAt = EnqueuedAt(body),
            Payload = body.AsMemory(FixedBodyBytes + streamBytes),
        };
    }
}
