using Pdm.Testing;

namespace Pdm.Modbus.Tests;

public class LogEventIdTests
{
    [Fact]
    public void Log_event_ids_are_unique_and_in_the_modbus_range() =>
        LogEventIds.AssertUniqueWithin(typeof(ModbusServer).Assembly, 5400, 5499);
}
