using System.Text.Json;

namespace Pdm.Telemetry.Tests;

public class IsoZoneBoundariesTests
{
    [Theory]
    [InlineData(0.5, VibrationZone.A)]
    [InlineData(1.4, VibrationZone.B)]
    [InlineData(2.79, VibrationZone.B)]
    [InlineData(2.8, VibrationZone.C)]
    [InlineData(4.49, VibrationZone.C)]
    [InlineData(4.5, VibrationZone.D)]
    [InlineData(20, VibrationZone.D)]
    public void Group_2_rigid_zone_boundaries_belong_to_the_worse_zone(double velocity, VibrationZone expected) =>
        Assert.Equal(expected, IsoZoneBoundaries.Group2Rigid.Classify(velocity));

    [Fact]
    public void Published_boundaries_are_used_for_every_group_and_class()
    {
        Assert.Equal((2.3, 4.5, 7.1), Bounds(IsoZoneBoundaries.Group1Rigid));
        Assert.Equal((3.5, 7.1, 11.0), Bounds(IsoZoneBoundaries.Group1Flexible));
        Assert.Equal((1.4, 2.8, 4.5), Bounds(IsoZoneBoundaries.Group2Rigid));
        Assert.Equal((2.3, 4.5, 7.1), Bounds(IsoZoneBoundaries.Group2Flexible));
        Assert.Equal((0.71, 1.8, 4.5), Bounds(IsoZoneBoundaries.ClassI));
        Assert.Equal((1.12, 2.8, 7.1), Bounds(IsoZoneBoundaries.ClassII));
        Assert.Equal((1.8, 4.5, 11.2), Bounds(IsoZoneBoundaries.ClassIII));
        Assert.Equal((2.8, 7.1, 18.0), Bounds(IsoZoneBoundaries.ClassIV));
    }

    [Theory]
    [InlineData(VibrationZone.None, null)]
    [InlineData(VibrationZone.A, "A")]
    [InlineData(VibrationZone.D, "D")]
    public void A_zone_is_written_as_its_letter_and_none_as_null(VibrationZone zone, string? text)
    {
        Assert.Equal(text, VibrationZoneText.Format(zone));
        Assert.Equal(zone, VibrationZoneText.Parse(text));
        Assert.Equal(text is null ? "null" : $"\"{text}\"", JsonSerializer.Serialize(VibrationZoneText.ParseOrNull(text)));
    }

    [Fact]
    public void Text_that_is_not_a_zone_letter_is_refused() =>
        Assert.Throws<FormatException>(() => VibrationZoneText.Parse("E"));

    private static (double, double, double) Bounds(IsoZoneBoundaries b) => (b.BoundaryAB, b.BoundaryBC, b.BoundaryCD);
}
