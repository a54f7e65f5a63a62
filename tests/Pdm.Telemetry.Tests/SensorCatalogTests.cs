namespace Pdm.Telemetry.Tests;

public sealed class SensorCatalogTests
{
    [Theory]
    [InlineData("temperature", "degC", -50, 400)]
    [InlineData("spindle_speed", "rpm", 0, 60000)]
    [InlineData("vibration", "mm/s", 0, 100)]
    [InlineData("vibration_x", "mm/s", 0, 100)]
    [InlineData("vibration_y", "mm/s", 0, 100)]
    [InlineData("vibration_z", "mm/s", 0, 100)]
    [InlineData("conveyor_speed", "m/min", 0, 600)]
    [InlineData("efficiency", "%", 0, 100)]
    [InlineData("pressure", "bar", 0, 1000)]
    [InlineData("precision", "um", 0, 1000)]
    [InlineData("test_cycles", "count", 0, 1e9)]
    [InlineData("packaging_speed", "packs/min", 0, 10000)]
    [InlineData("flow", "m3/h", 0, 10000)]
    [InlineData("current", "A", 0, 5000)]
    [InlineData("power", "kW", 0, 100000)]
    [InlineData("speed", "rpm", 0, 60000)]
    [InlineData("humidity", "%", 0, 100)]
    public void Known_sensor_has_unit_and_range(string name, string unit, double min, double max)
    {
        Assert.True(SensorCatalog.TryGet(name, out var definition));
        Assert.Equal(name, definition.Name);
        Assert.Equal(unit, definition.Unit);
        Assert.Equal(min, definition.Min);
        Assert.Equal(max, definition.Max);
        Assert.False(string.IsNullOrWhiteSpace(definition.Description));
    }

    [Fact]
    public void Catalog_names_are_unique_valid_and_ranges_ordered()
    {
        Assert.Equal(SensorCatalog.All.Count, SensorCatalog.All.Select(d => d.Name).Distinct().Count());
        Assert.All(SensorCatalog.All, d =>
        {
            Assert.True(SensorCatalog.IsValidName(d.Name), d.Name);
            Assert.True(d.Min < d.Max, d.Name);
        });
    }

    [Fact]
    public void Range_bounds_are_inclusive()
    {
        Assert.True(SensorCatalog.TryGet("temperature", out var t));
        Assert.True(t.IsInRange(-50));
        Assert.True(t.IsInRange(400));
        Assert.False(t.IsInRange(400.0001));
        Assert.False(t.IsInRange(double.NaN));
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("spool_position_2", true)]
    [InlineData("", false)]
    [InlineData("Temperature", false)]
    [InlineData("_temp", false)]
    [InlineData("2nd_axis", false)]
    [InlineData("motor-temp", false)]
    [InlineData("motor temp", false)]
    public void Sensor_names_are_lower_snake_case(string name, bool valid)
    {
        Assert.Equal(valid, SensorCatalog.IsValidName(name));
    }

    [Fact]
    public void Sensor_name_is_at_most_63_characters()
    {
        Assert.True(SensorCatalog.IsValidName("a" + new string('b', 62)));
        Assert.False(SensorCatalog.IsValidName("a" + new string('b', 63)));
    }

    [Fact]
    public void Unknown_sensor_is_not_in_catalog()
    {
        Assert.False(SensorCatalog.TryGet("spool_position", out _));
    }
}
