using static Pdm.Telemetry.Tests.Messages;

namespace Pdm.Telemetry.Tests;

public sealed class UnitConversionTests
{
    [Theory]
    [InlineData("temperature", 212, "degF", 100)]
    [InlineData("temperature", 32, "°F", 0)]
    [InlineData("temperature", 373.15, "K", 100)]
    [InlineData("pressure", 100, "psi", 6.89475729316836)]
    [InlineData("pressure", 250, "kPa", 2.5)]
    [InlineData("vibration", 0.1, "in/s", 2.54)]
    [InlineData("conveyor_speed", 2, "m/s", 120)]
    [InlineData("precision", 0.002, "mm", 2)]
    [InlineData("flow", 100, "L/min", 6)]
    [InlineData("current", 1500, "mA", 1.5)]
    [InlineData("power", 1500, "W", 1.5)]
    [InlineData("efficiency", 0.93, "ratio", 93)]
    [InlineData("spindle_speed", 200, "Hz", 12000)]
    public void Value_in_known_unit_is_converted_to_catalog_unit(string sensor, double value, string unit, double expected)
    {
        var json = V1(Machine($$"""{"{{sensor}}":{{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""",
            units: $$"""{"{{sensor}}":"{{unit}}"}"""));

        var result = Decode(json);

        Assert.True(result.IsClean, string.Join("; ", result.Errors));
        var converted = Assert.Single(Assert.Single(result.Samples).Values);
        Assert.Equal(sensor, converted.Sensor);
        Assert.Equal(expected, converted.Value, 9);
    }

    [Fact]
    public void Catalog_unit_leaves_value_unchanged()
    {
        var result = Decode(V1(Machine("""{"temperature":71.4}""", units: """{"temperature":"degC"}""")));

        Assert.Equal(71.4, Assert.Single(Assert.Single(result.Samples).Values).Value);
    }

    [Theory]
    [InlineData("degX")]
    [InlineData("bar")]
    [InlineData("DEGF")]
    public void Unconvertible_unit_is_reported(string unit)
    {
        var error = SingleError(Decode(V1(Machine("""{"temperature":71.4}""", units: $$"""{"temperature":"{{unit}}"}"""))));

        Assert.Equal(new DecodeError("machines[0].units.temperature", $"unit '{unit}' for temperature cannot be converted to degC"), error);
    }

    [Fact]
    public void Range_is_checked_after_conversion_and_reason_shows_both_units()
    {
        var error = SingleError(Decode(V1(Machine("""{"temperature":1000}""", units: """{"temperature":"degF"}"""))));

        Assert.Equal(
            new DecodeError("machines[0].values.temperature", "temperature 1000 degF (537.778 degC) outside -50..400 degC"),
            error);
    }

    [Fact]
    public void Value_in_range_only_after_conversion_is_accepted()
    {
        // 600 degF is above the degC limit as a number, but 315.6 degC is a plausible temperature.
        var result = Decode(V1(Machine("""{"temperature":600}""", units: """{"temperature":"degF"}""")));

        Assert.True(result.IsClean);
    }

    [Fact]
    public void Unit_of_custom_sensor_is_accepted_as_given()
    {
        var result = Decode(V1(Machine("""{"spool_position":4.2}""", units: """{"spool_position":"furlongs"}""")));

        Assert.Equal([new("spool_position", 4.2)], Assert.Single(result.Samples).Values);
    }

    [Fact]
    public void Unit_for_sensor_without_value_is_ignored()
    {
        var result = Decode(V1(Machine("""{"temperature":70,"pressure":null}""", units: """{"pressure":"psi"}""")));

        Assert.True(result.IsClean);
    }

    [Theory]
    [InlineData("""{"temperature":5}""", "machines[0].units.temperature", "expected a unit name (at most 32 characters of UTF-8), got the number 5")]
    [InlineData("""["degF"]""", "machines[0].units", "expected an object of sensor -> unit, got an array")]
    [InlineData("""{"Temp":"degF"}""", "machines[0].units.Temp", "sensor name 'Temp' is not lower snake case")]
    public void Malformed_units_are_reported(string units, string path, string reason)
    {
        var error = SingleError(Decode(V1(Machine("""{"temperature":70}""", units: units))));

        Assert.Equal(new DecodeError(path, reason), error);
    }

    [Fact]
    public void Converter_refuses_units_of_different_quantities()
    {
        Assert.False(UnitConverter.TryConvert(1, "psi", "degC", out _));
        Assert.False(UnitConverter.TryConvert(1, "unknown", "degC", out _));
        Assert.True(UnitConverter.TryConvert(100, "degC", "degF", out var fahrenheit));
        Assert.Equal(212, fahrenheit, 9);
    }

    [Fact]
    public void Every_catalog_unit_is_known_to_the_converter()
    {
        var known = UnitConverter.KnownUnits.ToHashSet();

        Assert.All(SensorCatalog.All, d => Assert.Contains(d.Unit, known));
    }
}
