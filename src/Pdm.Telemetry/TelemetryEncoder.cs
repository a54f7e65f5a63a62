using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Pdm.Telemetry;

/// <summary>Writes machine samples as a telemetry v1 message (see docs/telemetry-v1.md).</summary>
public static class TelemetryEncoder
{
    /// <summary>The value of the <c>schema</c> property of every v1 message.</summary>
    public static string SchemaId => "pdm.telemetry.v1";

    internal const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>
    /// Encodes the samples as one UTF-8 JSON v1 message. Timestamps are written in UTC with milliseconds,
    /// values in their shortest round-trip form. Values must be finite: NaN and infinity have no JSON form.
    /// </summary>
    public static byte[] Encode(IReadOnlyList<MachineSample> samples, string? gatewayId = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var buffer = new ArrayBufferWriter<byte>(64 + (samples.Count * 128));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("schema", SchemaId);
            if (gatewayId is not null)
            {
                writer.WriteString("gateway", gatewayId);
            }
            writer.WriteStartArray("machines");
            foreach (var sample in samples)
            {
                WriteSample(writer, sample);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteSample(Utf8JsonWriter writer, MachineSample sample)
    {
        writer.WriteStartObject();
        writer.WriteString("machineId", sample.MachineId);
        writer.WriteString("timestamp", FormatTimestamp(sample.Timestamp));
        writer.WriteNumber("seq", sample.Sequence);
        writer.WriteStartObject("values");
        foreach (var value in sample.Values)
        {
            if (!double.IsFinite(value.Value))
            {
                throw new ArgumentException(
                    $"Sensor {value.Sensor} of machine {sample.MachineId} has non-finite value {value.Value}.",
                    nameof(sample));
            }
            writer.WriteNumber(value.Sensor, value.Value);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>ISO-8601 UTC with milliseconds, e.g. <c>2026-11-21T08:15:00.250Z</c>.</summary>
    public static string FormatTimestamp(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);
}
