using System.Text.Json;
using Pdm.Edge.Configuration;
using Pdm.Edge.Sources;

namespace Pdm.Edge.Tests.Sources;

public sealed class JsonReadingMapperTests
{
    private static readonly DateTimeOffset Received = new(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Values_are_scaled_and_converted_to_the_catalog_unit()
    {
        var sensors = Sensors("""
            { "temperature": { "path": "$.t", "unit": "degF" },
              "pressure": { "path": "$.p", "scale": 0.1, "unit": "psi" },
              "vibration": "$.v",
              "running": "$.on" }
            """);

        var reading = Map("""{ "t": 212, "p": 145.0377, "v": "2.5", "on": true }""", sensors);

        Assert.Equal("M1", reading.MachineId);
        Assert.Equal(Received, reading.Timestamp);
        var values = reading.Values.ToDictionary(v => v.Sensor, v => v.Value);
        Assert.Equal(100, values["temperature"], 6);
        Assert.Equal(1, values["pressure"], 4);
        Assert.Equal(2.5, values["vibration"]);
        Assert.Equal(1, values["running"]);
    }

    [Fact]
    public void Missing_and_null_values_are_skipped()
    {
        var reading = Map("""{ "t": 20, "p": null }""", Sensors("""{ "temperature": "$.t", "pressure": "$.p", "vibration": "$.v" }"""));

        Assert.Equal("temperature", Assert.Single(reading.Values).Sensor);
    }

    [Theory]
    [InlineData("""{ "ts": "2026-11-21T09:15:00.250+01:00", "t": 1 }""", "2026-11-21T08:15:00.250+00:00")]
    [InlineData("""{ "ts": "2026-11-21T08:15:00Z", "t": 1 }""", "2026-11-21T08:15:00+00:00")]
    [InlineData("""{ "ts": 1795227300000, "t": 1 }""", "2026-11-21T02:15:00+00:00")]
    public void Timestamp_is_read_from_the_payload(string payload, string expected)
    {
        var reading = Map(payload, Sensors("""{ "temperature": "$.t" }"""), timestampPath: "$.ts");

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), reading.Timestamp);
    }

    [Theory]
    [InlineData("""{ "t": "hot" }""", null, "temperature: $.t is the string \"hot\", not a number")]
    [InlineData("""{ "t": { "v": 1 } }""", null, "temperature: $.t is an object, not a number")]
    [InlineData("""{ "x": 1 }""", null, "no sensor value found (looked for $.t)")]
    [InlineData("""{ "t": 1 }""", "$.ts", "no timestamp at $.ts")]
    [InlineData("""{ "t": 1, "ts": "2026-11-21T08:15:00" }""", "$.ts", "timestamp '2026-11-21T08:15:00' at $.ts is not an ISO-8601 date-time with UTC offset")]
    [InlineData("""{ "t": 1, "ts": 1.5 }""", "$.ts", "timestamp 1.5 at $.ts is not a whole number of Unix epoch milliseconds")]
    [InlineData("""{ "t": 1, "ts": true }""", "$.ts", "timestamp at $.ts is neither an ISO-8601 string nor epoch milliseconds")]
    public void Payload_that_cannot_be_mapped_is_refused_with_reason(string payload, string? timestampPath, string error)
    {
        using var document = JsonDocument.Parse(payload);
        var timestamp = timestampPath is null ? null : Path(timestampPath);

        Assert.False(JsonReadingMapper.TryMap(document.RootElement, "M1", timestamp, Sensors("""{ "temperature": "$.t" }"""), Received,
            out var reading, out var problem));

        Assert.Null(reading);
        Assert.Contains(error, problem, StringComparison.Ordinal);
    }

    private static SourceReading Map(string payload, IReadOnlyList<SensorMapping> sensors, string? timestampPath = null)
    {
        using var document = JsonDocument.Parse(payload);
        var timestamp = timestampPath is null ? null : Path(timestampPath);
        Assert.True(JsonReadingMapper.TryMap(document.RootElement, "M1", timestamp, sensors, Received, out var reading, out var error), error);
        return reading;
    }

    /// <summary>Sensor mappings as the parser compiles them from an HTTP source's <c>sensors</c>.</summary>
    private static IReadOnlyList<SensorMapping> Sensors(string sensors)
    {
        var result = EdgeConfigurationParser.Parse($$"""
            { "schemaVersion": 1, "gatewayId": "gw",
              "http": [ { "name": "api", "url": "http://127.0.0.1/", "machineId": "M1", "sensors": {{sensors}} } ] }
            """);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Configuration.Http[0].Sensors;
    }

    private static JsonPathExpression Path(string text)
    {
        Assert.True(JsonPathExpression.TryParse(text, out var expression, out var error), error);
        return expression;
    }
}
