using System.Text.Json.Nodes;
using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>The ways the simulator can spoil a telemetry message so the pipeline has something to reject.</summary>
public enum MalformedKind
{
    /// <summary>The body is cut short, so it is not JSON at all.</summary>
    InvalidJson,
    /// <summary>One sensor value is the string "n/a" instead of a number.</summary>
    NonNumericValue,
    /// <summary>One sensor value is physically impossible (-1e6: below zero for every sensor, below absolute zero for temperature).</summary>
    ValueOutOfRange,
    /// <summary>One machine entry has no timestamp.</summary>
    MissingTimestamp,
}

/// <summary>Builds v1 message bodies that are wrong in one known way.</summary>
public static class MalformedMessages
{
    public const double OutOfRangeValue = -1_000_000;

    /// <summary>
    /// Encodes <paramref name="samples"/> as a v1 message spoiled as <paramref name="kind"/> says, in the machine
    /// entry at <paramref name="machineIndex"/> (ignored for <see cref="MalformedKind.InvalidJson"/>).
    /// </summary>
    public static byte[] Create(IReadOnlyList<MachineSample> samples, MalformedKind kind, int machineIndex, string? gatewayId = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfNegative(machineIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(machineIndex, samples.Count);
        if (kind is MalformedKind.NonNumericValue or MalformedKind.ValueOutOfRange && samples[machineIndex].Values.Count == 0)
        {
            throw new ArgumentException($"Machine entry {machineIndex} has no value to spoil.", nameof(samples));
        }
        switch (kind)
        {
            case MalformedKind.InvalidJson:
                // Any proper prefix of a JSON object is invalid: its closing brace is missing.
                var body = TelemetryEncoder.Encode(samples, gatewayId);
                return body[..(body.Length * 2 / 3)];
            case MalformedKind.ValueOutOfRange:
                var spoiled = samples.ToArray();
                var target = spoiled[machineIndex];
                spoiled[machineIndex] = target with
                {
                    Values = [new SensorValue(target.Values[0].Sensor, OutOfRangeValue), .. target.Values.Skip(1)],
                };
                return TelemetryEncoder.Encode(spoiled, gatewayId);
            case MalformedKind.NonNumericValue:
                return Edit(samples, machineIndex, gatewayId, machine =>
                {
                    var values = machine["values"]!.AsObject();
                    values[samples[machineIndex].Values[0].Sensor] = "n/a";
                });
            case MalformedKind.MissingTimestamp:
                return Edit(samples, machineIndex, gatewayId, machine => machine.Remove("timestamp"));
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown malformed kind.");
        }
    }

    // Edits the encoder's own output, so everything except the one spoiled field stays a faithful v1 message.
    private static byte[] Edit(IReadOnlyList<MachineSample> samples, int machineIndex, string? gatewayId, Action<JsonObject> edit)
    {
        var message = JsonNode.Parse(TelemetryEncoder.Encode(samples, gatewayId))!.AsObject();
        edit(message["machines"]![machineIndex]!.AsObject());
        return System.Text.Encoding.UTF8.GetBytes(message.ToJsonString());
    }
}
