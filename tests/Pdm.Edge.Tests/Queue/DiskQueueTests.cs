using System.Collections.Concurrent;
using System.Text;
using Pdm.Edge.Queue;

namespace Pdm.Edge.Tests.Queue;

public sealed class DiskQueueTests : IDisposable
{
    private readonly QueueFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Records_come_back_in_enqueue_order_with_sequences_per_stream()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        var clock = DateTimeOffset.UtcNow;

        Assert.Equal(1, queue.Enqueue("press-1", "a"u8));
        Assert.Equal(1, queue.Enqueue("press-2", "b"u8));
        Assert.Equal(2, queue.Enqueue("press-1", "c"u8));
        Assert.Equal(3, queue.Enqueue("press-1", ""u8));

        var records = PeekAll(queue);
        Assert.Equal(["press-1:1:a", "press-2:1:b", "press-1:2:c", "press-1:3:"], records.Select(Describe));
        Assert.True(records.Zip(records.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.All(records, r => Assert.InRange(r.EnqueuedAt, clock.AddMinutes(-1), clock.AddMinutes(1)));
    }

    [Fact]
    public void Peek_returns_the_same_records_until_they_are_acknowledged()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue("m", Encoding.UTF8.GetBytes($"r{i}"));
        }

        var first = new List<QueueRecord>();
        var again = new List<QueueRecord>();
        Assert.Equal(3, queue.Peek(3, first));
        Assert.Equal(3, queue.Peek(3, again));

        Assert.Equal(first.Select(Describe), again.Select(Describe));
        Assert.Equal(first.Select(r => r.Id), again.Select(r => r.Id));
    }

    [Fact]
    public void Acknowledge_removes_records_up_to_and_including_the_id()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        for (var i = 1; i <= 5; i++)
        {
            queue.Enqueue("m", [(byte)i]);
        }

        var records = PeekAll(queue);
        queue.Acknowledge(records[2].Id);

        Assert.Equal([4L, 5L], PeekAll(queue).Select(r => r.Sequence));
        var stats = queue.GetStats();
        Assert.Equal(2, stats.Count);
        Assert.Equal(3, stats.Acknowledged);

        queue.Acknowledge(records[1].Id);
        Assert.Equal(2, queue.GetStats().Count);
    }

    [Fact]
    public void Acknowledge_of_an_id_that_is_no_record_is_rejected_and_removes_nothing()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        queue.Enqueue("m", "one"u8);
        queue.Enqueue("m", "two"u8);
        var records = PeekAll(queue);

        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Acknowledge(records[0].Id + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Acknowledge(records[1].Id + 1000));

        Assert.Equal(2, queue.GetStats().Count);
    }

    [Fact]
    public void Reopen_after_dispose_keeps_unacknowledged_records_and_sequence_counters()
    {
        using (var queue = DiskQueue.Open(_folder.Options()))
        {
            for (var i = 0; i < 10; i++)
            {
                queue.Enqueue(i % 2 == 0 ? "even" : "odd", [(byte)i]);
            }

            queue.Acknowledge(PeekAll(queue)[3].Id);
        }

        using var reopened = DiskQueue.Open(_folder.Options());
        var records = PeekAll(reopened);
        Assert.Equal([4, 5, 6, 7, 8, 9], records.Select(r => (int)r.Payload.Span[0]));
        Assert.Equal(6, reopened.GetStats().Count);
        Assert.Equal(6, reopened.Enqueue("even", "x"u8));
        Assert.Equal(6, reopened.Enqueue("odd", "y"u8));
        Assert.Equal(1, reopened.Enqueue("new", "z"u8));
    }

    [Theory]
    [InlineData("half a header")]
    [InlineData("header without its body")]
    [InlineData("body cut short")]
    [InlineData("zeros")]
    [InlineData("damaged last byte")]
    public void Incomplete_last_record_is_truncated_and_every_complete_record_recovered(string damage)
    {
        using (var queue = DiskQueue.Open(_folder.Options()))
        {
            for (var i = 1; i <= 20; i++)
            {
                queue.Enqueue("m", Encoding.UTF8.GetBytes($"reading {i}"));
            }
        }

        var last = _folder.SegmentFiles()[^1];
        var bytes = File.ReadAllBytes(last);
        // A kill between or inside the write of record 21 leaves one of these behind.
        byte[] torn = damage switch
        {
            "half a header" => [.. bytes, 30, 0, 0],
            "header without its body" => [.. bytes, .. bytes.AsSpan(0, 8)],
            "body cut short" => [.. bytes, .. bytes.AsSpan(0, 20)],
            "zeros" => [.. bytes, .. new byte[4096]],
            _ => bytes[..^1].Append((byte)(bytes[^1] ^ 0xFF)).ToArray(),
        };
        File.WriteAllBytes(last, torn);
        var complete = damage == "damaged last byte" ? 19 : 20;

        using (var recovered = DiskQueue.Open(_folder.Options()))
        {
            Assert.Equal(Enumerable.Range(1, complete).Select(i => $"m:{i}:reading {i}"), PeekAll(recovered).Select(Describe));
            // A damaged record's number stays used: the checkpoint already counted it.
            Assert.Equal(21, recovered.Enqueue("m", "after"u8));
        }

        using var again = DiskQueue.Open(_folder.Options());
        Assert.Equal(complete + 1, PeekAll(again).Count);
    }

    /// <summary>
    /// A stand-in for killing the process: writers and an acknowledging reader keep running while the files are
    /// copied, and the copy is opened as the restarted module would. It shows that nothing sits in a user-space
    /// buffer when Enqueue returns and that recovery copes with a copy taken mid-write. It cannot show what a real
    /// SIGKILL adds on top (nothing, for data already written to the OS), nor anything about power loss.
    /// </summary>
    [Fact]
    public async Task Copy_taken_while_enqueuing_holds_every_unacknowledged_record_whose_enqueue_returned()
    {
        const int streamsPerWriter = 3;
        const int writers = 2;
        var streams = Enumerable.Range(0, writers * streamsPerWriter).Select(i => $"machine-{i}").ToArray();
        var returned = new long[streams.Length];
        var acknowledged = new ConcurrentDictionary<string, long>();
        using var queue = DiskQueue.Open(_folder.Options(segmentBytes: 1 << 16));
        using var stop = new CancellationTokenSource();
        // Writers outrun the reader; credits keep the backlog (and so each copy) small.
        using var credits = new SemaphoreSlim(5000);

        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var payload = new byte[200];
            try
            {
                for (var n = 0; ; n++)
                {
                    await credits.WaitAsync(stop.Token);
                    var index = (w * streamsPerWriter) + (n % streamsPerWriter);
                    Volatile.Write(ref returned[index], queue.Enqueue(streams[index], payload));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The test is over.
            }
        })).ToArray();
        var reading = Task.Run(async () =>
        {
            var batch = new List<QueueRecord>();
            try
            {
                while (true)
                {
                    await queue.WaitForRecordsAsync(stop.Token);
                    batch.Clear();
                    queue.Peek(100, batch);
                    // Noted before the call: the checkpoint may reach the disk before Acknowledge returns.
                    foreach (var record in batch)
                    {
                        acknowledged[record.Stream] = record.Sequence;
                    }

                    queue.Acknowledge(batch[^1].Id);
                    credits.Release(batch.Count);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The test is over.
            }
        });
        long[] Returned() => [.. Enumerable.Range(0, returned.Length).Select(i => Volatile.Read(ref returned[i]))];

        for (var round = 0; round < 5; round++)
        {
            var progress = Returned().Sum() + 3000;
            await WaitUntilAsync(() => Returned().Sum() > progress);
            var enqueuedBefore = Returned();
            using var copy = _folder.CopyAsIfKilled();
            var acknowledgedAfter = streams.Select(s => acknowledged.GetValueOrDefault(s)).ToArray();

            using var restarted = DiskQueue.Open(copy.Options(segmentBytes: 1 << 16));
            var bySequence = PeekAll(restarted).GroupBy(r => r.Stream).ToDictionary(g => g.Key, g => g.Select(r => r.Sequence).ToList());
            for (var i = 0; i < streams.Length; i++)
            {
                var kept = bySequence.GetValueOrDefault(streams[i]) ?? [];
                Assert.True(kept.Zip(kept.Skip(1)).All(p => p.Second == p.First + 1), $"{streams[i]}: gap or reorder");
                for (var sequence = acknowledgedAfter[i] + 1; sequence <= enqueuedBefore[i]; sequence++)
                {
                    Assert.Contains(sequence, kept);
                }

                Assert.True(restarted.Enqueue(streams[i], "after"u8) > enqueuedBefore[i], $"{streams[i]}: sequence reused");
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll([.. writing, reading]);
    }

    [Fact]
    public void Queue_over_its_bound_drops_the_oldest_records_and_counts_them()
    {
        const int maxBytes = 1 << 17;
        const int segmentBytes = 1 << 16;
        var payload = new byte[1000];
        var recordBytes = 8 + 18 + 1 + payload.Length;
        using (var queue = DiskQueue.Open(_folder.Options(maxBytes, segmentBytes)))
        {
            for (var i = 1; i <= 300; i++)
            {
                payload[0] = (byte)i;
                queue.Enqueue("m", payload);
            }

            var kept = maxBytes / recordBytes;
            var stats = queue.GetStats();
            Assert.Equal(kept, stats.Count);
            Assert.Equal(300 - kept, stats.DroppedRecords);
            Assert.Equal((300L - kept) * recordBytes, stats.DroppedBytes);
            Assert.InRange(stats.Bytes, 0, maxBytes);
            Assert.InRange(_folder.SegmentFiles().Sum(f => new FileInfo(f).Length), 0, maxBytes + segmentBytes);
            Assert.Equal(Enumerable.Range(301 - kept, kept).Select(i => (long)i), PeekAll(queue).Select(r => r.Sequence));
            Assert.Equal(301, queue.Enqueue("m", payload));
        }

        using var reopened = DiskQueue.Open(_folder.Options(maxBytes, segmentBytes));
        Assert.Equal(302, reopened.Enqueue("m", payload));
    }

    [Fact]
    public void Acknowledging_records_dropped_meanwhile_is_ignored()
    {
        var payload = new byte[1000];
        using var queue = DiskQueue.Open(_folder.Options(1 << 17, 1 << 16));
        queue.Enqueue("m", payload);
        var sent = PeekAll(queue);

        while (queue.GetStats().DroppedRecords == 0)
        {
            queue.Enqueue("m", payload);
        }

        var count = queue.GetStats().Count;
        queue.Acknowledge(sent[0].Id);

        Assert.Equal(count, queue.GetStats().Count);
        Assert.Equal(0, queue.GetStats().Acknowledged);
    }

    [Fact]
    public async Task Concurrent_enqueuers_keep_each_streams_sequences_contiguous()
    {
        const int threads = 4;
        const int perThread = 5000;
        string[] streams = ["a", "b", "c"];
        var results = new ConcurrentBag<(string Stream, long Sequence)>();
        using var queue = DiskQueue.Open(_folder.Options(segmentBytes: 1 << 18));

        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            for (var i = 0; i < perThread; i++)
            {
                var stream = streams[random.Next(streams.Length)];
                results.Add((stream, queue.Enqueue(stream, new byte[random.Next(300)])));
            }
        })));

        foreach (var group in results.GroupBy(r => r.Stream))
        {
            Assert.Equal(Enumerable.Range(1, group.Count()).Select(i => (long)i), group.Select(r => r.Sequence).Order());
        }

        var queued = PeekAll(queue);
        Assert.Equal(threads * perThread, queued.Count);
        foreach (var group in queued.GroupBy(r => r.Stream))
        {
            Assert.Equal(Enumerable.Range(1, group.Count()).Select(i => (long)i), group.Select(r => r.Sequence));
        }
    }

    [Fact]
    public void Sequences_continue_after_acknowledged_segments_are_deleted_and_the_queue_reopened()
    {
        var payload = new byte[500];
        using (var queue = DiskQueue.Open(_folder.Options()))
        {
            for (var i = 0; i < 1000; i++)
            {
                queue.Enqueue(i % 10 == 0 ? "rare" : "often", payload);
            }

            Assert.True(_folder.SegmentFiles().Length > 5);
            queue.Acknowledge(PeekAll(queue)[^1].Id);

            Assert.Single(_folder.SegmentFiles());
            Assert.Equal(0, queue.GetStats().Count);
        }

        using var reopened = DiskQueue.Open(_folder.Options());
        Assert.Empty(PeekAll(reopened));
        Assert.Equal(101, reopened.Enqueue("rare", payload));
        Assert.Equal(901, reopened.Enqueue("often", payload));
    }

    [Fact]
    public async Task WaitForRecordsAsync_completes_when_a_record_is_enqueued()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        var waiting = queue.WaitForRecordsAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        queue.Enqueue("m", "x"u8);

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(queue.WaitForRecordsAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task WaitForRecordsAsync_ends_when_cancelled()
    {
        using var queue = DiskQueue.Open(_folder.Options());
        using var cancel = new CancellationTokenSource();
        var waiting = queue.WaitForRecordsAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Stats_report_what_waits_and_since_when()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
        using var queue = DiskQueue.Open(_folder.Options(), timeProvider: clock);
        Assert.Null(queue.GetStats().OldestEnqueuedAt);

        queue.Enqueue("m", new byte[100]);
        clock.Now = clock.Now.AddMinutes(5);
        queue.Enqueue("m", new byte[100]);
        queue.Acknowledge(PeekAll(queue)[0].Id);

        var stats = queue.GetStats();
        Assert.Equal(1, stats.Count);
        Assert.Equal(8 + 18 + 1 + 100, stats.Bytes);
        Assert.Equal(2, stats.Enqueued);
        Assert.Equal(1, stats.Acknowledged);
        Assert.Equal(0, stats.DroppedRecords);
        Assert.Equal(clock.Now, stats.OldestEnqueuedAt);
    }

    [Fact]
    public void A_second_open_of_the_same_directory_fails_while_the_first_is_open()
    {
        using (DiskQueue.Open(_folder.Options()))
        {
            var failure = Assert.Throws<IOException>(() => DiskQueue.Open(_folder.Options()));
            Assert.Contains("in use", failure.Message, StringComparison.Ordinal);
        }

        using var afterwards = DiskQueue.Open(_folder.Options());
        Assert.Equal(0, afterwards.GetStats().Count);
    }

    [Fact]
    public void Queue_flushing_to_disk_on_an_interval_keeps_its_records()
    {
        var options = _folder.Options();
        options.FsyncInterval = TimeSpan.FromMilliseconds(10);
        using (var queue = DiskQueue.Open(options))
        {
            for (var i = 0; i < 500; i++)
            {
                queue.Enqueue("m", new byte[300]);
            }
        }

        using var reopened = DiskQueue.Open(options);
        Assert.Equal(500, reopened.GetStats().Count);
    }

    [Fact]
    public void Record_larger_than_a_segment_is_rejected()
    {
        using var queue = DiskQueue.Open(_folder.Options(segmentBytes: 1 << 16));

        Assert.Throws<ArgumentException>(() => queue.Enqueue("m", new byte[1 << 16]));
        Assert.Equal(1, queue.Enqueue("m", new byte[1000]));
    }

    internal static List<QueueRecord> PeekAll(DiskQueue queue)
    {
        var records = new List<QueueRecord>();
        queue.Peek(int.MaxValue, records);
        return records;
    }

    private static string Describe(QueueRecord record) =>
        $"{record.Stream}:{record.Sequence}:{Encoding.UTF8.GetString(record.Payload.Span)}";

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
