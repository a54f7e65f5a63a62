using Pdm.Edge.Queue;

namespace Pdm.Edge.Tests.Queue;

/// <summary>A fresh temporary folder for one test's queue, deleted afterwards.</summary>
internal sealed class QueueFolder : IDisposable
{
    public QueueFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pdm-queue-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public DiskQueueOptions Options(long maxBytes = 1L << 30, long segmentBytes = 1L << 16) =>
        new() { Directory = Path, MaxBytes = maxBytes, SegmentBytes = segmentBytes };

    public string[] SegmentFiles() => Directory.GetFiles(Path, "*.seg").Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// What a new process would find if this one were killed now: the segment files and the checkpoint as the
    /// operating system has them, copied while the queue stays open. Segments are copied first and the checkpoint
    /// last, so the checkpoint is never older than a segment deletion the copy missed (as on a real disk).
    /// </summary>
    public QueueFolder CopyAsIfKilled()
    {
        var copy = new QueueFolder();
        foreach (var segment in SegmentFiles())
        {
            try
            {
                File.Copy(segment, System.IO.Path.Combine(copy.Path, System.IO.Path.GetFileName(segment)));
            }
            catch (FileNotFoundException)
            {
                // Acknowledged and deleted since the listing; the checkpoint copied below already says so.
            }
        }

        var checkpoint = System.IO.Path.Combine(Path, "checkpoint");
        File.Copy(checkpoint, System.IO.Path.Combine(copy.Path, "checkpoint"));
        return copy;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
