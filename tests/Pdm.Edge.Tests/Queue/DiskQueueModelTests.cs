using System.Text;
using Pdm.Edge.Queue;

namespace Pdm.Edge.Tests.Queue;

/// <summary>
/// Random runs of enqueues (with drops past the bound), acknowledgements and reopenings, checked after every step
/// against a list in memory that does what the queue promises.
/// </summary>
public sealed class DiskQueueModelTests : IDisposable
{
    private const long MaxBytes = 1 << 17;
    private const long SegmentBytes = 1 << 16;
    private static readonly string[] Streams = ["m1", "m2", "machine-with-a-longer-name"];

    private readonly QueueFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Random_operations_agree_with_an_in_memory_model(int seed)
    {
        var random = new Random(seed);
        var model = new Queue<(string Stream, long Sequence, byte[] Payload)>();
        var lastSequences = Streams.ToDictionary(s => s, _ => 0L);
        long modelBytes = 0;
        long dropped = 0;
        var queue = DiskQueue.Open(_folder.Options(MaxBytes, SegmentBytes));
        try
        {
            for (var step = 0; step < 2000; step++)
            {
                var choice = random.Next(100);
                if (choice < 70)
                {
                    var stream = Streams[random.Next(Streams.Length)];
                    var payload = new byte[random.Next(random.Next(10) == 0 ? 20_000 : 400)];
                    random.NextBytes(payload);
                    var size = 8 + 18 + Encoding.UTF8.GetByteCount(stream) + payload.Length;
                    while (modelBytes + size > MaxBytes)
                    {
                        var oldest = model.Dequeue();
                        modelBytes -= 8 + 18 + Encoding.UTF8.GetByteCount(oldest.Stream) + oldest.Payload.Length;
                        dropped++;
                    }

                    lastSequences[stream]++;
                    model.Enqueue((stream, lastSequences[stream], payload));
                    modelBytes += size;
                    Assert.Equal(lastSequences[stream], queue.Enqueue(stream, payload));
                }
                else if (choice < 95 && model.Count > 0)
                {
                    var records = new List<QueueRecord>();
                    var count = queue.Peek(1 + random.Next(Math.Min(model.Count, 50)), records);
                    Assert.Equal(records.Count, count);
                    queue.Acknowledge(records[^1].Id);
                    for (var i = 0; i < count; i++)
                    {
                        model.Dequeue();
                    }

                    modelBytes = model.Sum(r => 8 + 18 + Encoding.UTF8.GetByteCount(r.Stream) + r.Payload.Length);
                }
                else
                {
                    queue.Dispose();
                    queue = DiskQueue.Open(_folder.Options(MaxBytes, SegmentBytes));
                    dropped = 0;
                }

                AssertAgrees(queue, model, modelBytes, dropped);
            }
        }
        finally
        {
            queue.Dispose();
        }
    }

    private static void AssertAgrees(DiskQueue queue, Queue<(string Stream, long Sequence, byte[] Payload)> model,
        long modelBytes, long dropped)
    {
        var records = DiskQueueTests.PeekAll(queue);
        Assert.Equal(model.Count, records.Count);
        foreach (var (expected, actual) in model.Zip(records))
        {
            Assert.Equal(expected.Stream, actual.Stream);
            Assert.Equal(expected.Sequence, actual.Sequence);
            Assert.True(expected.Payload.AsSpan().SequenceEqual(actual.Payload.Span));
        }

        var stats = queue.GetStats();
        Assert.Equal(modelBytes, stats.Bytes);
        Assert.Equal(dropped, stats.DroppedRecords);
    }
}
