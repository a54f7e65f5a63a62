using System.Buffers;
using Pdm.Edge.Queue;

namespace Pdm.Edge.Pipeline;

/// <summary>
/// Sources write here: each reading becomes one record of the store-and-forward queue, its stream the machine id.
/// NaN and infinite values (a float register holding garbage, a sensor fault) have no JSON form and are counted and
/// left out; the rest of the reading goes on.
/// </summary>
public sealed class QueueSink(DiskQueue queue) : IReadingSink
{
    // Sources write from many threads; each gets its own scratch buffer.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    private long _nonFiniteValues;

    /// <summary>Values left out because they were NaN or infinite.</summary>
    public long NonFiniteValues => Interlocked.Read(ref _nonFiniteValues);

    public ValueTask WriteAsync(SourceReading reading, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var finite = reading.Values.Count(v => double.IsFinite(v.Value));
        if (finite < reading.Values.Count)
        {
            Interlocked.Add(ref _nonFiniteValues, reading.Values.Count - finite);
            if (finite == 0)
            {
                return ValueTask.CompletedTask;
            }
            reading = reading with { Values = [.. reading.Values.Where(v => double.IsFinite(v.Value))] };
        }
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        ReadingCodec.Encode(reading, buffer);
        queue.Enqueue(reading.MachineId, buffer.WrittenSpan);
        return ValueTask.CompletedTask;
    }
}
