using System.Text;
using static Pdm.Telemetry.Tests.Messages;

namespace Pdm.Telemetry.Tests;

public sealed class TelemetryDecoderTests
{
    [Fact]
    public void Valid_v1_message_decodes_every_field()
    {
        var result = Decode("""
            {"schema":"pdm.telemetry.v1","gateway":"plant7-gw1","machines":[{"machineId":"EG_M001",
             "timestamp":"2026-11-21T08:15:00.250Z","seq":1042,"values":{"temperature":71.4,"spindle_speed":11950,"vibration":2.31}}]}
            """);

        Assert.True(result.IsClean, string.Join("; ", result.Errors));
        Assert.Equal("plant7-gw1", result.GatewayId);
        var sample = Assert.Single(result.Samples);
        Assert.Equal("EG_M001", sample.MachineId);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, 250, TimeSpan.Zero), sample.Timestamp);
        Assert.Equal(TimeSpan.Zero, sample.Timestamp.Offset);
        Assert.Equal(1042, sample.Sequence);
        Assert.Equal([new("temperature", 71.4), new("spindle_speed", 11950), new("vibration", 2.31)], sample.Values);
    }

    [Fact]
    public void Schema_may_come_after_machines()
    {
        var result = Decode($$"""{"machines":[{{Machine()}}],"gateway":"gw:1","schema":"pdm.telemetry.v1"}""");

        Assert.True(result.IsClean);
        Assert.Single(result.Samples);
        Assert.Equal("gw:1", result.GatewayId);
    }

    [Fact]
    public void Unknown_properties_are_ignored_for_forward_compatibility()
    {
        var result = Decode($$"""{"schema":"pdm.telemetry.v1","site":{"x":1},"machines":[{"machineId":"A","timestamp":"2026-11-21T08:15:00Z","seq":1,"values":{"temperature":1},"quality":"good"}]}""");

        Assert.True(result.IsClean);
        Assert.Single(result.Samples);
    }

    [Fact]
    public void Timestamp_with_offset_is_normalized_to_utc()
    {
        var result = Decode(V1(Machine(timestamp: "\"2026-11-21T09:15:00.250+01:00\"")));

        var sample = Assert.Single(result.Samples);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, 250, TimeSpan.Zero), sample.Timestamp);
        Assert.Equal(TimeSpan.Zero, sample.Timestamp.Offset);
    }

    [Fact]
    public void Null_value_is_skipped_without_error()
    {
        var result = Decode(V1(Machine("""{"temperature":71.4,"vibration":null}""")));

        Assert.True(result.IsClean);
        Assert.Equal([new("temperature", 71.4)], Assert.Single(result.Samples).Values);
    }

    [Fact]
    public void Custom_sensor_is_accepted_without_range_check()
    {
        var result = Decode(V1(Machine("""{"spool_position_raw":-123456.5}""")));

        Assert.True(result.IsClean);
        Assert.Equal([new("spool_position_raw", -123456.5)], Assert.Single(result.Samples).Values);
    }

    [Theory]
    [InlineData("""{"temperature":912.4}""", "machines[0].values.temperature", "temperature 912.4 degC outside -50..400 degC")]
    [InlineData("""{"vibration":-0.5}""", "machines[0].values.vibration", "vibration -0.5 mm/s outside 0..100 mm/s")]
    [InlineData("""{"temperature":"hot"}""", "machines[0].values.temperature", "expected a number or null, got a string \"hot\"")]
    [InlineData("""{"temperature":[1]}""", "machines[0].values.temperature", "expected a number or null, got an array")]
    [InlineData("""{"temperature":true}""", "machines[0].values.temperature", "expected a number or null, got true")]
    [InlineData("""{"temperature":1e999}""", "machines[0].values.temperature", "1e999 is not a finite number")]
    [InlineData("""{"Temperature":1}""", "machines[0].values.Temperature", "sensor name 'Temperature' is not lower snake case ([a-z][a-z0-9_], at most 63 characters)")]
    [InlineData("""{"motor temp":1}""", "machines[0].values['motor temp']", "sensor name 'motor temp' is not lower snake case ([a-z][a-z0-9_], at most 63 characters)")]
    [InlineData("""{"1st":1}""", "machines[0].values['1st']", "sensor name '1st' is not lower snake case ([a-z][a-z0-9_], at most 63 characters)")]
    [InlineData("""{"temperature":1,"temperature":2}""", "machines[0].values.temperature", "duplicate sensor; each sensor may appear once per sample")]
    [InlineData("""{}""", "machines[0].values", "no sensor values; at least one number is required")]
    [InlineData("""{"temperature":null}""", "machines[0].values", "no sensor values; at least one number is required")]
    [InlineData("""[71.4]""", "machines[0].values", "expected an object of sensor -> number, got an array")]
    public void Bad_value_is_reported_with_path_and_reason(string values, string path, string reason)
    {
        var error = SingleError(Decode(V1(Machine(values))));

        Assert.Equal(new DecodeError(path, reason), error);
    }

    [Theory]
    [InlineData("\"EG M002\"", "machine id 'EG M002' has a character other than A-Z a-z 0-9 _ . : - at position 2")]
    [InlineData("\"\"", "machine id is empty")]
    [InlineData("42", "expected a string, got the number 42")]
    [InlineData("\"M12345678901234567890123456789012345678901234567890123456789012345\"",
        "machine id 'M123456789012345678901234567890123456789...' is longer than 64 characters")]
    public void Bad_machine_id_is_reported(string id, string reason)
    {
        var json = V1($$$"""{"machineId":{{{id}}},"timestamp":"2026-11-21T08:15:00Z","seq":1,"values":{"temperature":1}}""");

        Assert.Equal(new DecodeError("machines[0].machineId", reason), SingleError(Decode(json)));
    }

    [Fact]
    public void Machine_id_of_64_characters_is_accepted()
    {
        var id = new string('m', 64);

        var result = Decode(V1(Machine(id: id)));

        Assert.Equal(id, Assert.Single(result.Samples).MachineId);
    }

    [Theory]
    [InlineData("\"2026-11-21T08:15:00\"", "'2026-11-21T08:15:00' is not an ISO-8601 date-time with UTC offset (like 2026-11-21T08:15:00.250Z)")]
    [InlineData("\"yesterday\"", "'yesterday' is not an ISO-8601 date-time with UTC offset (like 2026-11-21T08:15:00.250Z)")]
    [InlineData("\"2026-13-45T08:15:00Z\"", "'2026-13-45T08:15:00Z' is not a valid ISO-8601 date-time")]
    [InlineData("1795248900250", "expected an ISO-8601 string, got the number 1795248900250")]
    [InlineData("\"1999-12-31T23:59:59.999Z\"", "timestamp 1999-12-31T23:59:59.999Z is before 2000-01-01T00:00:00.000Z; is the gateway clock set?")]
    [InlineData("\"2026-11-21T08:25:00.001Z\"", "timestamp 2026-11-21T08:25:00.001Z is 5 minutes after the enqueued time 2026-11-21T08:20:00.000Z; at most 5 minutes ahead is allowed")]
    [InlineData("\"2026-11-22T08:20:00Z\"", "timestamp 2026-11-22T08:20:00.000Z is 24 hours after the enqueued time 2026-11-21T08:20:00.000Z; at most 5 minutes ahead is allowed")]
    public void Bad_timestamp_is_reported(string timestamp, string reason)
    {
        var error = SingleError(Decode(V1(Machine(timestamp: timestamp))));

        Assert.Equal(new DecodeError("machines[0].timestamp", reason), error);
    }

    [Fact]
    public void Timestamp_exactly_five_minutes_ahead_is_accepted()
    {
        var result = Decode(V1(Machine(timestamp: "\"2026-11-21T08:25:00.000Z\"")));

        Assert.True(result.IsClean);
    }

    [Theory]
    [InlineData("-1", "-1 is not a non-negative integer")]
    [InlineData("1.5", "1.5 is not a non-negative integer")]
    [InlineData("99999999999999999999", "99999999999999999999 is not a non-negative integer")]
    [InlineData("\"7\"", "expected a non-negative integer, got a string \"7\"")]
    public void Bad_sequence_is_reported(string seq, string reason)
    {
        var error = SingleError(Decode(V1(Machine(seq: seq))));

        Assert.Equal(new DecodeError("machines[0].seq", reason), error);
    }

    [Fact]
    public void Missing_sample_properties_are_each_reported()
    {
        var result = Decode(V1("{}"));

        Assert.Empty(result.Samples);
        Assert.Equal(
            [
                new("machines[0].machineId", "missing required property"),
                new("machines[0].timestamp", "missing required property"),
                new("machines[0].seq", "missing required property"),
                new("machines[0].values", "missing required property"),
            ],
            result.Errors);
    }

    [Fact]
    public void Duplicate_sample_property_is_reported()
    {
        var json = V1("""{"machineId":"A","machineId":"B","timestamp":"2026-11-21T08:15:00Z","seq":1,"values":{"temperature":1}}""");

        Assert.Equal(new DecodeError("machines[0].machineId", "duplicate property"), SingleError(Decode(json)));
    }

    [Fact]
    public void Machine_entry_that_is_not_an_object_is_reported_and_others_kept()
    {
        var result = Decode(V1("42", Machine()));

        Assert.Equal([new DecodeError("machines[0]", "expected a machine sample object, got the number 42")], result.Errors);
        Assert.Single(result.Samples);
    }

    [Fact]
    public void Bad_sample_does_not_drop_good_samples_of_the_same_message()
    {
        var result = Decode(V1(
            Machine(id: "A"),
            Machine("""{"temperature":912.4,"vibration":2}""", id: "B"),
            Machine(id: "C", seq: "-5")));

        Assert.Equal(["A"], result.Samples.Select(s => s.MachineId));
        Assert.Equal(
            [
                new("machines[1].values.temperature", "temperature 912.4 degC outside -50..400 degC"),
                new("machines[2].seq", "-5 is not a non-negative integer"),
            ],
            result.Errors);
    }

    [Fact]
    public void All_problems_of_one_sample_are_reported()
    {
        var result = Decode(V1(Machine("""{"temperature":"x","pressure":-1}""", id: "a b", seq: "-1")));

        Assert.Empty(result.Samples);
        Assert.Equal(
            ["machines[0].machineId", "machines[0].seq", "machines[0].values.temperature", "machines[0].values.pressure"],
            result.Errors.Select(e => e.Path));
    }

    [Theory]
    [InlineData("", "", "empty message body")]
    [InlineData("42", "", "expected a JSON object or an array of objects, got the number 42")]
    [InlineData("\"hello\"", "", "expected a JSON object or an array of objects, got a string \"hello\"")]
    [InlineData("[]", "", "empty array; at least one sample is required")]
    [InlineData("""{"schema":"pdm.telemetry.v9","machines":[]}""", "schema", "schema 'pdm.telemetry.v9' is not supported; expected pdm.telemetry.v1")]
    [InlineData("""{"schema":1,"machines":[]}""", "schema", "expected a string, got the number 1")]
    [InlineData("""{"schema":"pdm.telemetry.v1"}""", "machines", "missing required property")]
    [InlineData("""{"schema":"pdm.telemetry.v1","machines":[]}""", "machines", "empty; at least one machine sample is required")]
    [InlineData("""{"schema":"pdm.telemetry.v1","machines":{}}""", "machines", "expected an array of machine samples, got an object")]
    [InlineData("""{"machines":[]}""", "schema", "missing; a message with 'machines' must have \"schema\":\"pdm.telemetry.v1\"")]
    [InlineData("""{"schema":"pdm.telemetry.v1","schema":"pdm.telemetry.v1","machines":[]}""", "schema", "duplicate property")]
    public void Whole_message_problem_is_a_single_error(string json, string path, string reason)
    {
        Assert.Equal(new DecodeError(path, reason), SingleError(Decode(json)));
    }

    [Fact]
    public void Bad_gateway_rejects_the_whole_message()
    {
        var error = SingleError(Decode($$"""{"schema":"pdm.telemetry.v1","machines":[{{Machine()}}],"gateway":"plant 7"}"""));

        Assert.Equal(new DecodeError("gateway", "gateway id 'plant 7' has a character other than A-Z a-z 0-9 _ . : - at position 5"), error);
    }

    [Theory]
    [InlineData("{\"temperature\":1,")]
    [InlineData("{\"a\":1} x")]
    [InlineData("{'temperature':1}")]
    [InlineData("{\"temperature\":1,}")]
    [InlineData("{\"temperature\":01}")]
    [InlineData("   ")]
    public void Invalid_json_is_a_single_error_with_position(string json)
    {
        var error = SingleError(Decode(json));

        Assert.Equal("", error.Path);
        Assert.StartsWith("invalid JSON: ", error.Reason, StringComparison.Ordinal);
        Assert.Contains("BytePositionInLine", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_json_after_good_samples_drops_them()
    {
        var json = V1(Machine(), Machine(id: "B"))[..^2] + "}";

        var error = SingleError(Decode(json));

        Assert.StartsWith("invalid JSON: ", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Byte_order_mark_is_skipped()
    {
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(V1(Machine()))).ToArray();

        Assert.True(TelemetryDecoder.Decode(body, Context).IsClean);
    }

    [Fact]
    public void Escaped_names_are_read_like_plain_ones()
    {
        var result = Decode("""{"\u0073chema":"pdm.telemetry.v1","machines":[{"machineId":"EG\u005fM1","timestamp":"2026-11-21T08:15:00\u005A","seq":1,"values":{"\u0074emperature":7}}]}""");

        var sample = Assert.Single(result.Samples);
        Assert.Equal("EG_M1", sample.MachineId);
        Assert.Equal("temperature", Assert.Single(sample.Values).Sensor);
    }

    [Fact]
    public void More_than_1000_machines_is_rejected()
    {
        var json = V1(Enumerable.Range(0, 1001).Select(i => Machine(id: $"M{i}")).ToArray());

        Assert.Equal(
            new DecodeError("machines", "more than 1000 machine samples in one message; send smaller batches"),
            SingleError(Decode(json)));
    }

    [Fact]
    public void Exactly_1000_machines_are_accepted()
    {
        var json = V1(Enumerable.Range(0, 1000).Select(i => Machine(id: $"M{i}")).ToArray());

        Assert.Equal(1000, Decode(json).Samples.Count);
    }

    [Fact]
    public void More_than_256_values_in_a_sample_is_rejected()
    {
        var values = "{" + string.Join(",", Enumerable.Range(0, 257).Select(i => $"\"s{i}\":{i}")) + "}";

        var error = SingleError(Decode(V1(Machine(values))));

        Assert.Equal(new DecodeError("machines[0].values", "more than 256 values in one sample"), error);
    }

    [Fact]
    public void Exactly_256_values_are_accepted()
    {
        var values = "{" + string.Join(",", Enumerable.Range(0, 256).Select(i => $"\"s{i}\":{i}")) + "}";

        Assert.Equal(256, Assert.Single(Decode(V1(Machine(values))).Samples).Values.Count);
    }

    [Fact]
    public void Error_list_is_capped_with_a_note()
    {
        var json = V1(Enumerable.Range(0, 150).Select(_ => Machine(seq: "-1")).ToArray());

        var result = Decode(json);

        Assert.Equal(TelemetryDecoder.MaxErrorsPerMessage + 1, result.Errors.Count);
        Assert.Equal(new DecodeError("", "more than 100 errors; the rest are not listed"), result.Errors[^1]);
    }

    [Fact]
    public void Long_bad_values_are_truncated_in_the_reason()
    {
        var longText = new string('x', 500);

        var error = SingleError(Decode(V1(Machine($$"""{"temperature":"{{longText}}"}"""))));

        Assert.Equal($"expected a number or null, got a string \"{new string('x', 40)}...\"", error.Reason);
    }
}
