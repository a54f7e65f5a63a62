using static Pdm.Telemetry.Tests.Messages;

namespace Pdm.Telemetry.Tests;

public sealed class PlainDeviceJsonTests
{
    [Fact]
    public void Flat_object_becomes_one_sample_of_the_device_at_enqueued_time()
    {
        var result = Decode("""{"temperature":71.4,"spindle_speed":11950}""");

        Assert.True(result.IsClean);
        var sample = Assert.Single(result.Samples);
        Assert.Equal(Context.DeviceId, sample.MachineId);
        Assert.Equal(EnqueuedTime, sample.Timestamp);
        Assert.Equal(0, sample.Sequence);
        Assert.Equal([new("temperature", 71.4), new("spindle_speed", 11950)], sample.Values);
    }

    [Theory]
    [InlineData("""{"temperature":1,"ts":1795248900250}""")]
    [InlineData("""{"temperature":1,"timestamp":1795248900250}""")]
    [InlineData("""{"temperature":1,"timestamp":"2026-11-21T08:15:00.250Z"}""")]
    [InlineData("""{"ts":"2026-11-21T10:15:00.250+02:00","temperature":1}""")]
    public void Timestamp_may_be_iso_or_epoch_milliseconds(string json)
    {
        var sample = Assert.Single(Decode(json).Samples);

        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, 250, TimeSpan.Zero), sample.Timestamp);
    }

    [Fact]
    public void Sequence_is_taken_when_given()
    {
        Assert.Equal(17, Assert.Single(Decode("""{"seq":17,"temperature":1}""").Samples).Sequence);
    }

    [Fact]
    public void Array_of_objects_gives_one_sample_each()
    {
        var result = Decode("""[{"temperature":1,"seq":1},{"temperature":2,"seq":2}]""");

        Assert.True(result.IsClean);
        Assert.Equal([1L, 2L], result.Samples.Select(s => s.Sequence));
        Assert.All(result.Samples, s => Assert.Equal("EG_M001", s.MachineId));
    }

    [Fact]
    public void Bad_element_of_array_is_reported_with_index_and_others_kept()
    {
        var result = Decode("""[{"temperature":1},{"temperature":912.4},"x"]""");

        Assert.Single(result.Samples);
        Assert.Equal(
            [
                new("[1].temperature", "temperature 912.4 degC outside -50..400 degC"),
                new("[2]", "expected an object of sensor -> number, got a string \"x\""),
            ],
            result.Errors);
    }

    [Theory]
    [InlineData("""{"temperature":1,"status":"ok"}""", "status", "expected a number or null, got a string \"ok\"")]
    [InlineData("""{"temperature":1,"ts":1795248900}""", "ts", "1795248900 is not unix epoch milliseconds from 2000 on (this looks like seconds)")]
    [InlineData("""{"temperature":1,"ts":"08:15"}""", "ts", "'08:15' is not an ISO-8601 date-time with UTC offset (like 2026-11-21T08:15:00.250Z)")]
    [InlineData("""{"temperature":1,"ts":true}""", "ts", "expected an ISO-8601 string or unix epoch milliseconds, got true")]
    [InlineData("""{"temperature":1,"ts":1795248900250,"timestamp":1795248900250}""", "timestamp", "duplicate timestamp; 'ts' was given already")]
    [InlineData("""{"temperature":1,"seq":-2}""", "seq", "-2 is not a non-negative integer")]
    [InlineData("""{"ts":1795248900250}""", "", "no sensor values; at least one number is required")]
    public void Bad_plain_object_is_reported_by_property(string json, string path, string reason)
    {
        Assert.Equal(new DecodeError(path, reason), SingleError(Decode(json)));
    }

    [Fact]
    public void Device_id_that_is_no_machine_id_rejects_the_message()
    {
        var context = Context with { DeviceId = "edge1/pdm" };

        var result = TelemetryDecoder.Decode("""{"temperature":1}"""u8, context);

        Assert.Equal(
            new DecodeError("", "plain device JSON takes its machine id from the device id: device id 'edge1/pdm' has a character other than A-Z a-z 0-9 _ . : - at position 5"),
            SingleError(result));
    }
}
