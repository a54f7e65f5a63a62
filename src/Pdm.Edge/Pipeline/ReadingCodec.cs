using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Pdm.Telemetry;

namespace Pdm.Edge.Pipeline;

/// <summary>
/// A reading's timestamp and values as a queue record's payload: compact and quick to write on every poll. The
/// machine id is the record's stream and the sequence number is the queue's, so neither is repeated here.
/// Layout: int64 Unix milliseconds, int16 value count, then per value: byte name length, UTF-8 name, float64 value.
/// </summary>
internal static class ReadingCodec
{
    public static void Encode(SourceReading reading, ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        var header = buffer.GetSpan(10);
        BinaryPrimitives.WriteInt64LittleEndian(header, reading.Timestamp.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt16LittleEndian(header[8..], checked((short)reading.Values.Count));
        buffer.Advance(10);
        foreach (var value in reading.Values)
        {
            // Sensor names are at most 63 ASCII characters (SensorCatalog.MaxNameLength).
            var span = buffer.GetSpan(1 + SensorCatalog.MaxNameLength + 8);
            var length = Encoding.UTF8.GetBytes(value.Sensor, span[1..]);
            span[0] = checked((byte)length);
            BinaryPrimitives.WriteDoubleLittleEndian(span[(1 + length)..], value.Value);
            buffer.Advance(1 + length + 8);
        }
    }

    public static (DateTimeOffset Timestamp, SensorValue[] Values) Decode(ReadOnlySpan<byte> payload)
    {
        var timestamp = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(payload));
        var values = new SensorValue[BinaryPrimitives.ReadInt16LittleEndian(payload[8..])];
        var offset = 10;
        for (var i = 0; i < values.Length; i++)
        {
            int length = payload[offset];
            var name = Encoding.UTF8.GetString(payload.Slice(offset + 1, length));
            values[i] = new SensorValue(name, BinaryPrimitives.ReadDoubleLittleEndian(payload[(offset + 1 + length)..]));
            offset += 1 + length + 8;
        }
        return (timestamp, values);
    }
}
