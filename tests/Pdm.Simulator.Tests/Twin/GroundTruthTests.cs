using Pdm.Simulator.Twin;
using Pdm.Telemetry;

namespace Pdm.Simulator.Tests.Twin;

public class GroundTruthTests
{
    [Theory]
    [InlineData(VibrationZone.A, 0.2, MachineState.Healthy)]
    [InlineData(VibrationZone.B, 0.5, MachineState.Healthy)]
    [InlineData(VibrationZone.C, 0.7, MachineState.Warning)]
    [InlineData(VibrationZone.D, 0.9, MachineState.Faulty)]
    [InlineData(VibrationZone.D, 1.0, MachineState.Broken)]
    [InlineData(VibrationZone.B, 1.0, MachineState.Broken)]
    public void State_follows_the_zone_until_wear_reaches_failure(VibrationZone zone, double wear, MachineState expected) =>
        Assert.Equal(expected, GroundTruth.StateOf(zone, wear));

    [Fact]
    public void Missing_reading_has_no_zone_and_proves_nothing_bad() =>
        Assert.Equal(MachineState.Healthy, GroundTruth.StateOf(IsoZoneBoundaries.ClassI.Classify(double.NaN), wear: 0.5));
}
