using System.Reflection;
using Pdm.Testing;

namespace Pdm.EdgeModule.Tests;

public class LogEventIdTests
{
    [Fact]
    public void The_module_hosts_log_event_ids_are_unique_and_in_its_range() =>
        LogEventIds.AssertUniqueWithin(Assembly.Load("Pdm.EdgeModule"), 5500, 5599);
}
