using Pdm.Testing;

namespace Pdm.Simulator.Tests;

public class LogEventsTests
{
    [Fact]
    public void Log_event_ids_are_unique_and_in_the_simulator_range() =>
        LogEventIds.AssertUniqueWithin(typeof(FleetSimulator).Assembly, 9000, 9999);
}
