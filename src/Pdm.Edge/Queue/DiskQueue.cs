using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Edge.Queue;

/// <summary>
/// Disk-backed store-and-forward queue: every reading is appended here before it is sent, read back in enqueue
/// order, and removed only when <see cref="Acknowledge"/> says the broker has it.
/// </summary>
/// <remarks>
/// <para>Records live in append-only segment files (<see cref="Segment"/>); a position is a byte offset that grows
/// across files, and a record's <see cref="QueueRecord.Id"/> is its position. Each record is written with one
/// <c>pwrite</c> before <see cref="Enqueue"/> returns, so it survives a killed process; see
/// <see cref="DiskQueueOptions.FsyncInterval"/> for power loss. A record cut short by a kill fails its length or
/// CRC check and is truncated on open.</para>
/// <para>Sequence numbers per stream never repeat: on open the counters are the checkpoint's, raised by every record
/// still on disk. The checkpoint is written before any segment file is deleted, so a deleted record never holds a
/// higher number than the checkpoint.</para>
/// <para>Acknowledging and dropping move the head in memory; it reaches the checkpoint at most every 100 ms on
/// acknowledgement, always before a segment file is deleted, and on <see cref="Dispose"/>. After a killed process the
/// records acknowledged or dropped since the last checkpoint come back: at-least-once, and the cloud drops duplicates
/// by (stream, sequence).</para>
/// <para>All members are thread-safe; one lock serialises them (a write is a few microseconds).</para>
/// </remarks>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue, not a Queue<T>; the name says what it stores on")]
public sealed class DiskQueue : IDisposable, IAsyncDisposable
{
    private const string LockFileName = "lock";
    private static readonly TimeSpan DropLogInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan AcknowledgeCheckpointInterval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly string _directory;
    private long _maxBytes;
    private readonly long _segmentBytes;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly FileStream _lockFile;
    private readonly List<Segment> _segments = [];
    private readonly Dictionary<string, long> _lastSequences = new(StringComparer.Ordinal);
    private readonly ITimer? _fsyncTimer;
    private byte[] _writeBuffer = new byte[4096];
    private long _head;
    private long _count;
    private long _bytes;
    private long _enqueued;
    private long _acknowledged;
    private long _droppedRecords;
    private long _droppedBytes;
    private DateTimeOffset _lastDropLog = DateTimeOffset.MinValue;
    private long _checkpointedAt;
    private bool _unsynced;
    private IOException? _fsyncFailure;
    private TaskCompletionSource? _waiter;
    private bool _disposed;

    private DiskQueue(DiskQueueOptions options, FileStream lockFile, ILogger logger, TimeProvider time)
    {
        _directory = options.Directory;
        _maxBytes = options.MaxBytes;
        _segmentBytes = options.SegmentBytes;
        _fsync = options.FsyncInterval is not null;
        _lockFile = lockFile;
        _logger = logger;
        _time = time;
        Recover();
        if (options.FsyncInterval is { } interval)
        {
            _fsyncTimer = time.CreateTimer(_ => SyncToDisk(), null, interval, interval);
        }
    }

    /// <summary>
    /// The bound on waiting bytes (see <see cref="DiskQueueOptions.MaxBytes"/>); a configuration change may move it.
    /// A lower bound takes effect at the next enqueue, which drops the oldest records down to it.
    /// </summary>
    public long MaxBytes
    {
        get
        {
            lock (_gate)
            {
                return _maxBytes;
            }
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, _segmentBytes);
            lock (_gate)
            {
                _maxBytes = value;
            }
        }
    }

    /// <summary>Position after the last record: where the next one is written.</summary>
    private long Tail => _segments[^1].End;

    /// <summary>
    /// Opens (or creates) the queue in <see cref="DiskQueueOptions.Directory"/>, recovering what a previous run left.
    /// One process at a time: the directory is locked while the queue is open.
    /// </summary>
    public static DiskQueue Open(DiskQueueOptions options, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Directory, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentBytes, 1L << 16, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBytes, options.SegmentBytes, nameof(options));
        if (options.FsyncInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(options));
        }

        Directory.CreateDirectory(options.Directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(options.Directory, LockFileName), FileMode.OpenOrCreate,
                FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"Queue directory {options.Directory} is in use by another queue", e);
        }

        try
        {
            return new DiskQueue(options, lockFile, logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends a record to <paramref name="stream"/> and returns its sequence number (1, 2, 3... per stream). When
    /// this returns the record is in the operating system's hands: a killed process does not lose it. If the queue
    /// is over <see cref="DiskQueueOptions.MaxBytes"/> the oldest records are dropped to make room.
    /// </summary>
    public long Enqueue(string stream, ReadOnlySpan<byte> payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        var streamBytes = Encoding.UTF8.GetByteCount(stream);
        if (streamBytes > RecordFormat.MaxStreamBytes)
        {
            throw new ArgumentException($"Stream name is {streamBytes} bytes; at most {RecordFormat.MaxStreamBytes}", nameof(stream));
        }

        var size = RecordFormat.SizeOf(streamBytes, payload.Length);
        if (size > _segmentBytes)
        {
            throw new ArgumentException($"Record of {size} bytes is larger than a segment ({_segmentBytes} bytes)", nameof(payload));
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_fsyncFailure is not null)
            {
                throw new IOException($"Queue {_directory} could not flush to disk", _fsyncFailure);
            }

            var sequence = _lastSequences.GetValueOrDefault(stream) + 1;
            if (_writeBuffer.Length < size)
            {
                _writeBuffer = new byte[Math.Max(size, _writeBuffer.Length * 2)];
            }

            var record = _writeBuffer.AsSpan(0, size);
            RecordFormat.Write(record, sequence, _time.GetUtcNow(), stream, streamBytes, payload);
            MakeRoomFor(size);
            SegmentWithRoomFor(size).Append(record);

            // Counted only once written: a failed write leaves the sequence free for the retry.
            _lastSequences[stream] = sequence;
            _count++;
            _bytes += size;
            _enqueued++;
            _unsynced = true;
            _waiter?.TrySetResult();
            _waiter = null;
            return sequence;
        }
    }

    /// <summary>
    /// Appends up to <paramref name="maxRecords"/> of the oldest unacknowledged records to <paramref name="into"/>, in
    /// enqueue order, and returns how many. Reading removes nothing: until <see cref="Acknowledge"/>, the same records
    /// come back.
    /// </summary>
    public int Peek(int maxRecords, List<QueueRecord> into)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentNullException.ThrowIfNull(into);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var position = _head;
            var read = 0;
            while (read < maxRecords && position < Tail)
            {
                var segment = SegmentAt(position);
                var body = ReadBody(segment, position);
                into.Add(RecordFormat.Decode(position, body));
                position = SkipToRecord(position + RecordFormat.HeaderBytes + body.Length);
                read++;
            }

            return read;
        }
    }

    /// <summary>Completes when the queue holds at least one record.</summary>
    public ValueTask WaitForRecordsAsync(CancellationToken cancellationToken)
    {
        Task waiting;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_count > 0)
            {
                return ValueTask.CompletedTask;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting = _waiter.Task;
        }

        return new ValueTask(waiting.WaitAsync(cancellationToken));
    }

    /// <summary>
    /// Removes every record up to and including the one with <paramref name="upToId"/>. An id already removed
    /// (acknowledged or dropped) is ignored.
    /// </summary>
    /// <remarks>
    /// The new head reaches the checkpoint file at most every 100 ms, always before a segment file is deleted, and on
    /// <see cref="Dispose"/>: rewriting it on every call would cap one-by-one acknowledgement at a few thousand per
    /// second. So after a killed process the last 100 ms or so of acknowledged records can be sent again, which
    /// at-least-once delivery allows; the cloud drops them by (stream, sequence). A clean restart resends nothing.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The id is not that of a record in the queue.</exception>
    public void Acknowledge(long upToId)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (upToId < _head)
            {
                return;
            }

            // Walk the headers from the head: it proves the id is a record's and counts what is removed.
            var position = _head;
            long records = 0;
            long bytes = 0;
            while (true)
            {
                if (position > upToId || position >= Tail)
                {
                    throw new ArgumentOutOfRangeException(nameof(upToId), upToId, "Not the id of a record in the queue");
                }

                var size = RecordFormat.HeaderBytes + ReadBodyLength(SegmentAt(position), position);
                records++;
                bytes += size;
                var next = SkipToRecord(position + size);
                if (position == upToId)
                {
                    position = next;
                    break;
                }

                position = next;
            }

            _head = position;
            _count -= records;
            _bytes -= bytes;
            _acknowledged += records;
            if (IndexOf(_head) > 0)
            {
                CheckpointAndDeleteConsumedSegments();
            }
            else if (_time.GetElapsedTime(_checkpointedAt) >= AcknowledgeCheckpointInterval)
            {
                WriteCheckpoint(flushToDisk: false);
            }
        }
    }

    /// <summary>The last sequence number given out per stream (machine), including records already sent.</summary>
    public IReadOnlyDictionary<string, long> LastSequences()
    {
        lock (_gate)
        {
            return new Dictionary<string, long>(_lastSequences, StringComparer.Ordinal);
        }
    }

    public DiskQueueStats GetStats()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new DiskQueueStats
            {
                Count = _count,
                Bytes = _bytes,
                Enqueued = _enqueued,
                Acknowledged = _acknowledged,
                DroppedRecords = _droppedRecords,
                DroppedBytes = _droppedBytes,
                OldestEnqueuedAt = _count > 0 ? RecordFormat.EnqueuedAt(ReadBody(SegmentAt(_head), _head)) : null,
            };
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _fsyncTimer?.Dispose();
            try
            {
                if (_fsync)
                {
                    _segments[^1].FlushToDisk();
                }

                WriteCheckpoint(_fsync);
            }
            finally
            {
                foreach (var segment in _segments)
                {
                    segment.Dispose();
                }

                _lockFile.Dispose();
                _waiter?.TrySetException(new ObjectDisposedException(nameof(DiskQueue)));
                _waiter = null;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Recover()
    {
        Checkpoint.RemoveUnfinished(_directory);
        var checkpoint = Checkpoint.Read(_directory, out var problem);
        if (problem is not null)
        {
            _logger.CheckpointUnreadable(Checkpoint.PathIn(_directory), problem);
        }

        foreach (var (stream, sequence) in checkpoint?.LastSequences ?? new Dictionary<string, long>())
        {
            _lastSequences[stream] = sequence;
        }

        _segments.AddRange(Segment.Find(_directory));
        var head = checkpoint?.Head ?? 0;
        if (_segments.Count == 0)
        {
            _segments.Add(Segment.Create(_directory, head));
        }

        // Segments wholly before the head were acknowledged; a kill came before their deletion.
        head = Math.Max(head, _segments[0].Base);
        var headIndex = IndexOf(head);
        for (var i = headIndex; i < _segments.Count; i++)
        {
            var firstRecord = Scan(_segments[i], head);
            if (i == headIndex)
            {
                head = firstRecord;
            }
        }

        _head = SkipToRecord(head);
        CheckpointAndDeleteConsumedSegments();
        _logger.QueueOpened(_directory, _count, _bytes, _segments.Count, _lastSequences.Count);
    }

    /// <summary>
    /// Checks every record of the segment, counts those at or after <paramref name="head"/>, truncates whatever
    /// follows the last complete record, and returns the position of the first record at or after the head.
    /// </summary>
    private long Scan(Segment segment, long head)
    {
        long offset = 0;
        long firstRecord = -1;
        using (var file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16))
        {
            Span<byte> header = stackalloc byte[RecordFormat.HeaderBytes];
            var body = new byte[4096];
            while (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length)
            {
                var bodyLength = RecordFormat.BodyLength(header);
                if (bodyLength < 0 || bodyLength > segment.Length - offset - header.Length)
                {
                    break;
                }

                if (body.Length < bodyLength)
                {
                    body = new byte[bodyLength];
                }

                file.ReadExactly(body, 0, bodyLength);
                var span = body.AsSpan(0, bodyLength);
                if (!RecordFormat.IsIntact(header, span))
                {
                    break;
                }

                var stream = RecordFormat.Stream(span);
                _lastSequences[stream] = Math.Max(_lastSequences.GetValueOrDefault(stream), RecordFormat.Sequence(span));
                if (segment.Base + offset >= head)
                {
                    firstRecord = firstRecord < 0 ? segment.Base + offset : firstRecord;
                    _count++;
                    _bytes += header.Length + bodyLength;
                }

                offset += header.Length + bodyLength;
            }
        }

        if (offset < segment.Length)
        {
            _logger.IncompleteRecordTruncated(segment.Path, offset, segment.Length - offset);
            segment.Truncate(offset);
            segment.CloseHandle();
        }

        return firstRecord < 0 ? segment.End : firstRecord;
    }

    /// <summary>Drops the oldest records until <paramref name="size"/> more bytes fit under the bound.</summary>
    private void MakeRoomFor(long size)
    {
        if (_bytes + size <= _maxBytes)
        {
            return;
        }

        while (_count > 0 && _bytes + size > _maxBytes)
        {
            var recordSize = RecordFormat.HeaderBytes + ReadBodyLength(SegmentAt(_head), _head);
            _head = SkipToRecord(_head + recordSize);
            _count--;
            _bytes -= recordSize;
            _droppedRecords++;
            _droppedBytes += recordSize;
        }

        if (IndexOf(_head) > 0)
        {
            CheckpointAndDeleteConsumedSegments();
        }

        var now = _time.GetUtcNow();
        if (now - _lastDropLog >= DropLogInterval)
        {
            _lastDropLog = now;
            _logger.RecordsDropped(_directory, _maxBytes, _droppedRecords, _droppedBytes);
        }
    }

    /// <summary>The tail segment, or a new one when the record would make the tail larger than a segment.</summary>
    private Segment SegmentWithRoomFor(long size)
    {
        var tail = _segments[^1];
        if (tail.Length == 0 || tail.Length + size <= _segmentBytes)
        {
            return tail;
        }

        if (_fsync)
        {
            tail.FlushToDisk();
        }

        var next = Segment.Create(_directory, tail.End);
        _segments.Add(next);

        // Only the head and tail are read and written; a backed-up queue would otherwise hold every file open.
        tail.CloseHandle();

        if (_head == tail.End)
        {
            _head = next.Base;
            CheckpointAndDeleteConsumedSegments();
        }

        return next;
    }

    /// <summary>
    /// Deletes the segments before the head's, after writing the checkpoint: a deleted record must never hold a
    /// sequence number higher than the checkpoint's (see the class remarks).
    /// </summary>
    private void CheckpointAndDeleteConsumedSegments()
    {
        WriteCheckpoint(_fsync);
        var headIndex = IndexOf(_head);
        for (var i = 0; i < headIndex; i++)
        {
            _segments[i].Delete();
        }

        _segments.RemoveRange(0, headIndex);
    }

    private void WriteCheckpoint(bool flushToDisk)
    {
        Checkpoint.Write(_directory, _head, _lastSequences, flushToDisk);
        _checkpointedAt = _time.GetTimestamp();
    }

    private void SyncToDisk()
    {
        lock (_gate)
        {
            if (_disposed || !_unsynced)
            {
                return;
            }

            try
            {
                _segments[^1].FlushToDisk();
                _unsynced = false;
            }
            catch (IOException e)
            {
                // Reported to the next Enqueue: a timer thread has no caller to throw to.
                _fsyncFailure = e;
                _logger.FlushToDiskFailed(e, _directory);
            }
        }
    }

    /// <summary>Moves a position that is at the end of a segment (or in a gap truncation left) to the next segment.</summary>
    private long SkipToRecord(long position)
    {
        var index = IndexOf(position);
        while (index < _segments.Count - 1 && position >= _segments[index].End)
        {
            index++;
            position = _segments[index].Base;
        }

        return position;
    }

    private Segment SegmentAt(long position) => _segments[IndexOf(position)];

    /// <summary>Index of the last segment starting at or before <paramref name="position"/> (0 if none does).</summary>
    private int IndexOf(long position)
    {
        int low = 0, high = _segments.Count - 1;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (_segments[middle].Base <= position)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    private static int ReadBodyLength(Segment segment, long position)
    {
        Span<byte> header = stackalloc byte[RecordFormat.HeaderBytes];
        segment.ReadExactly(header, position);
        var bodyLength = RecordFormat.BodyLength(header);
        if (bodyLength < 0 || position + header.Length + bodyLength > segment.End)
        {
            throw new InvalidDataException($"Queue segment {segment.Path} holds no record at offset {position - segment.Base}");
        }

        return bodyLength;
    }

    private static byte[] ReadBody(Segment segment, long position)
    {
        Span<byte> header = stackalloc byte[RecordFormat.HeaderBytes];
        segment.ReadExactly(header, position);
        var bodyLength = RecordFormat.BodyLength(header);
        if (bodyLength < 0 || position + header.Length + bodyLength > segment.End)
        {
            throw new InvalidDataException($"Queue segment {segment.Path} holds no record at offset {position - segment.Base}");
        }

        var body = new byte[bodyLength];
        segment.ReadExactly(body, position + header.Length);
        if (!RecordFormat.IsIntact(header, body))
        {
            throw new InvalidDataException($"Queue segment {segment.Path} has a damaged record at offset {position - segment.Base}");
        }

        return body;
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information,
        Message = "Queue {Directory} opened: {Count} records, {Bytes} bytes in {Segments} segments, {Streams} streams")]
    public static partial void QueueOpened(this ILogger logger, string directory, long count, long bytes, int segments, int streams);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning,
        Message = "Queue segment {Segment} truncated at offset {Offset}: {Bytes} bytes after the last complete record (a write cut short)")]
    public static partial void IncompleteRecordTruncated(this ILogger logger, string segment, long offset, long bytes);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning,
        Message = "Queue {Directory} is full ({MaxBytes} bytes): oldest records dropped, {DroppedRecords} records ({DroppedBytes} bytes) since it opened")]
    public static partial void RecordsDropped(this ILogger logger, string directory, long maxBytes, long droppedRecords, long droppedBytes);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error,
        Message = "Queue checkpoint {Path} is unreadable ({Problem}); sequence numbers restart from the records still queued")]
    public static partial void CheckpointUnreadable(this ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Critical,
        Message = "Queue {Directory} could not flush to disk; the next enqueue fails")]
    public static partial void FlushToDiskFailed(this ILogger logger, Exception exception, string directory);
}
