using System.IO.Hashing;
using System.Text;
using Pdm.Edge.Queue;

namespace Pdm.Edge.Tests.Queue;

/// <summary>
/// The on-disk format outlives a release: a queue written by the module before CRC-32 came from System.IO.Hashing
/// (testdata/queue-v1: three records, the first acknowledged) must still open with every record intact.
/// </summary>
public sealed class QueueFormatTests : IDisposable
{
    private readonly QueueFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Queue_written_by_the_hand_written_crc_still_reads()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Queue", "testdata", "queue-v1")))
        {
            File.Copy(file, Path.Combine(_folder.Path, Path.GetFileName(file)));
        }

        using var queue = DiskQueue.Open(_folder.Options());
        var records = new List<QueueRecord>();
        queue.Peek(10, records);

        Assert.Equal(["pump-2:1:{\"t\":2}", "press-1:2:{\"t\":3}"],
            records.Select(r => $"{r.Stream}:{r.Sequence}:{Encoding.UTF8.GetString(r.Payload.Span)}"));
        // The checkpoint's per-stream sequences were read too (its CRC matched): numbering goes on.
        Assert.Equal(3, queue.Enqueue("press-1", "{}"u8));
        Assert.Equal(2, queue.Enqueue("pump-2", "{}"u8));
    }

    [Fact]
    public void Crc_is_the_ieee_polynomial_in_the_byte_order_the_files_use()
    {
        // The check value of CRC-32/ISO-HDLC, and the record CRC stored little endian in the fixture's checkpoint.
        Assert.Equal(0xCBF4_3926u, Crc32.HashToUInt32("123456789"u8));
        var checkpoint = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Queue", "testdata", "queue-v1", "checkpoint"));
        Assert.Equal(Crc32.Hash(checkpoint.AsSpan(0, checkpoint.Length - 4)), checkpoint[^4..]);
    }
}
