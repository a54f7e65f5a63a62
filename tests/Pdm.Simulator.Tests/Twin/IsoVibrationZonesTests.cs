using Pdm.Telemetry;
using Pdm.Simulator.Twin;

namespace Pdm.Simulator.Tests.Twin;

public class IsoVibrationZonesTests
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
    [InlineData(VibrationZone.A, 0.2, MachineState.Healthy)]
    [InlineData(VibrationZone.B, 0.5, MachineState.Healthy)]
    [InlineData(VibrationZone.C, 0.7, MachineState.Warning)]
    [InlineData(VibrationZone.D, 0.9, MachineState.Faulty)]
    [InlineData(VibrationZone.D, 1.0, MachineState.Broken)]
    [InlineData(VibrationZone.B, 1.0, MachineState.Broken)]
    public void State_follows_the_zone_until_wear_reaches_failure(VibrationZone zone, double wear, MachineState expected) =>
        Assert.Equal(expected, IsoVibrationZones.StateOf(zone, wear));

    [Fact]
    public void Missing_reading_has_no_zone_and_proves_nothing_bad() =>
        Assert.Equal(MachineState.Healthy, IsoVibrationZones.StateOf(IsoZoneBoundaries.ClassI.Classify(double.NaN), wear: 0.5));

    private static (double, double, double) Bounds(IsoZoneBoundaries b) => (b.BoundaryAB, b.BoundaryBC, b.BoundaryCD);
}
