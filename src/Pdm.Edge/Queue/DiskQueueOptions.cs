using System.ComponentModel.DataAnnotations;

namespace Pdm.Edge.Queue;

/// <summary>Where and how big the store-and-forward queue is.</summary>
public sealed class DiskQueueOptions
{
    public const string Section = "Queue";

    [Required] public string Directory { get; set; } = "";

    /// <summary>
    /// Bound on the bytes of waiting records (headers included). When a new record would pass it the oldest records
    /// are dropped and counted. Disk use can exceed it by up to one segment: a segment file is deleted only when all
    /// of its records are gone.
    /// </summary>
    [Range(1L << 16, long.MaxValue)] public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>Size at which a new segment file is started; also the largest record.</summary>
    [Range(1L << 16, 1L << 30)] public long SegmentBytes { get; set; } = 8L << 20;

    /// <summary>
    /// Null (default): every record is handed to the operating system before Enqueue returns, so a killed process
    /// loses nothing, but a power loss can lose what the OS had not yet written. Set: the current segment is also
    /// flushed to the device (fsync) at this interval, bounding that loss to about one interval; the checkpoint is
    /// flushed before any segment file is deleted.
    /// </summary>
    public TimeSpan? FsyncInterval { get; set; }
}
