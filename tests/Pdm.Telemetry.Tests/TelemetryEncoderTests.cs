using System.Text;
using System.Text.Json;

namespace Pdm.Telemetry.Tests;

public sealed class TelemetryEncoderTests
{
    private static readonly MachineSample Sample = new()
    {
        MachineId = "EG_M001",
        Timestamp = new DateTimeOffset(2026, 11, 21, 9, 15, 0, 250, TimeSpan.FromHours(1)),
        Sequence = 1042,
        Values = [new("temperature", 71.4), new("spindle_speed", 11950), new("vibration", 2.31)],
    };

    [Fact]
    public void Message_has_schema_gateway_and_machines_in_wire_format()
    {
        var json = Encoding.UTF8.GetString(TelemetryEncoder.Encode([Sample], "plant7-gw1"));

        Assert.Equal(
            """{"schema":"pdm.telemetry.v1","gateway":"plant7-gw1","machines":[{"machineId":"EG_M001","timestamp":"2026-11-21T08:15:00.250Z","seq":1042,"values":{"temperature":71.4,"spindle_speed":11950,"vibration":2.31}}]}""",
            json);
    }

    [Fact]
    public void Gateway_is_left_out_when_not_given()
    {
        using var document = JsonDocument.Parse(TelemetryEncoder.Encode([Sample]));

        Assert.False(document.RootElement.TryGetProperty("gateway", out _));
        Assert.Equal("pdm.telemetry.v1", document.RootElement.GetProperty("schema").GetString());
        Assert.Equal(TelemetryEncoder.SchemaId, document.RootElement.GetProperty("schema").GetString());
    }

    [Fact]
    public void Timestamp_is_utc_with_milliseconds()
    {
        var timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5)).AddTicks(1234567);

        Assert.Equal("2026-01-02T08:04:05.123Z", TelemetryEncoder.FormatTimestamp(timestamp));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1e-300)]
    [InlineData(-123456.789012345)]
    [InlineData(double.MaxValue)]
    [InlineData(double.Epsilon)]
    public void Doubles_are_written_in_round_trip_form(double value)
    {
        var sample = Sample with { Values = [new("custom_value", value)] };

        using var document = JsonDocument.Parse(TelemetryEncoder.Encode([sample]));

        var written = document.RootElement.GetProperty("machines")[0].GetProperty("values").GetProperty("custom_value");
        Assert.Equal(value, written.GetDouble());
    }

    [Fact]
    public void Non_finite_value_is_refused()
    {
        var sample = Sample with { Values = [new("temperature", double.NaN)] };

        var error = Assert.Throws<ArgumentException>(() => TelemetryEncoder.Encode([sample]));
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
    }
}
