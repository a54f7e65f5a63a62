using System.Text;

namespace Pdm.DevHost.Events;

/// <summary>
/// The simulated IoT Hub built-in endpoint: puts each device event into a partition chosen by a stable hash
/// of the device id (IoT Hub keeps one device's messages in one partition, so they stay in order), assigns
/// the partition's next sequence number and offset, and hands the stored event to every consumer.
/// </summary>
internal sealed class BuiltInEndpoint
{
    private readonly PartitionState[] _partitions;
    private readonly IReadOnlyList<Action<PartitionEvent>> _consumers;
    private readonly TimeProvider _time;

    public BuiltInEndpoint(int partitionCount, IReadOnlyList<Action<PartitionEvent>> consumers, TimeProvider time)
    {
        _partitions = [.. Enumerable.Range(0, partitionCount).Select(_ => new PartitionState())];
        _consumers = consumers;
        _time = time;
    }

    public void Append(DeviceEvent deviceEvent)
    {
        var partition = PartitionFor(deviceEvent.DeviceId, _partitions.Length);
        var state = _partitions[partition];
        PartitionEvent stored;
        lock (state)
        {
            stored = new PartitionEvent
            {
                Event = deviceEvent,
                PartitionId = partition.ToString(System.Globalization.CultureInfo.InvariantCulture),
                SequenceNumber = state.NextSequenceNumber++,
                Offset = state.NextOffset,
                EnqueuedTimeUtc = _time.GetUtcNow().UtcDateTime,
            };
            // Offsets are byte positions in the partition log; the body length is a fair stand-in for the record size.
            state.NextOffset += deviceEvent.Body.Length + 1;
            foreach (var consumer in _consumers)
            {
                consumer(stored);
            }
        }
    }

    /// <summary>FNV-1a over the UTF-8 device id: stable across runs and machines, unlike string.GetHashCode.</summary>
    public static int PartitionFor(string deviceId, int partitionCount)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(deviceId))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitionCount);
    }

    private sealed class PartitionState
    {
        public long NextSequenceNumber { get; set; }
        public long NextOffset { get; set; }
    }
}
