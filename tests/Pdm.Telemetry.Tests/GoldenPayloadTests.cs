using static Pdm.Telemetry.Tests.Messages;

namespace Pdm.Telemetry.Tests;

/// <summary>The example payloads under testdata/, which docs/telemetry-v1.md shows too.</summary>
public sealed class GoldenPayloadTests
{
    [Fact]
    public void Gateway_batch_decodes_clean()
    {
        var result = DecodeFile("v1-gateway-batch.json");

        Assert.True(result.IsClean, string.Join("; ", result.Errors));
        Assert.Equal("plant7-gw1", result.GatewayId);
        Assert.Equal(["EG_M001", "EG_M002", "EG_M003"], result.Samples.Select(s => s.MachineId));
        Assert.Equal([3, 6, 3], result.Samples.Select(s => s.Values.Count));
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 1, TimeSpan.Zero), result.Samples[2].Timestamp);
        Assert.Contains(new SensorValue("spool_position", 0.42), result.Samples[2].Values);
    }

    [Fact]
    public void Units_payload_is_converted_to_catalog_units()
    {
        var result = DecodeFile("v1-units.json");

        Assert.True(result.IsClean, string.Join("; ", result.Errors));
        var values = Assert.Single(result.Samples).Values.ToDictionary(v => v.Sensor, v => v.Value);
        Assert.Equal(100, values["temperature"], 9);
        Assert.Equal(5.99843884505647, values["pressure"], 9);
        Assert.Equal(2.54, values["vibration"], 9);
        Assert.Equal(2, values["precision"], 9);
    }

    [Fact]
    public void Mixed_payload_keeps_good_samples_and_names_the_bad_ones()
    {
        var result = DecodeFile("v1-mixed-errors.json");

        Assert.Equal(["EG_M001", "EG_M004"], result.Samples.Select(s => s.MachineId));
        Assert.Equal(
            [
                new("machines[1].values.temperature", "temperature 912.4 degC outside -50..400 degC"),
                new("machines[2].units.pressure", "unit 'furlongs' for pressure cannot be converted to bar"),
            ],
            result.Errors);
    }

    [Fact]
    public void Plain_device_object_decodes_with_device_id()
    {
        var sample = Assert.Single(DecodeFile("plain-device.json").Samples);

        Assert.Equal(Context.DeviceId, sample.MachineId);
        Assert.Equal(7, sample.Sequence);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, 250, TimeSpan.Zero), sample.Timestamp);
        Assert.Equal(3, sample.Values.Count);
    }

    [Fact]
    public void Plain_device_array_decodes_each_object()
    {
        var result = DecodeFile("plain-device-array.json");

        Assert.True(result.IsClean);
        Assert.Equal([2, 2, 1], result.Samples.Select(s => s.Values.Count));
    }

    [Fact]
    public void Unsupported_schema_is_rejected_whole()
    {
        Assert.Equal(
            new DecodeError("schema", "schema 'pdm.telemetry.v9' is not supported; expected pdm.telemetry.v1"),
            SingleError(DecodeFile("unsupported-schema.json")));
    }

    [Fact]
    public void Truncated_payload_is_invalid_json()
    {
        var error = SingleError(DecodeFile("truncated.json"));

        Assert.Equal("", error.Path);
        Assert.StartsWith("invalid JSON: ", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v1-gateway-batch.json")]
    [InlineData("v1-units.json")]
    [InlineData("plain-device.json")]
    [InlineData("plain-device-array.json")]
    public void Decoded_golden_samples_survive_encode_and_decode(string file)
    {
        var samples = DecodeFile(file).Samples;

        var again = TelemetryDecoder.Decode(TelemetryEncoder.Encode(samples), Context);

        Assert.True(again.IsClean, string.Join("; ", again.Errors));
        Assert.Equal(Describe(samples), Describe(again.Samples));
    }

    private static string[] Describe(List<MachineSample> samples) =>
        samples.Select(s => $"{s.MachineId} {s.Timestamp:O} {s.Sequence} {string.Join(",", s.Values)}").ToArray();
}
