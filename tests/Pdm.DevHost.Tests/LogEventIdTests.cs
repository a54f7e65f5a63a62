using Pdm.Testing;

namespace Pdm.DevHost.Tests;

public class LogEventIdTests
{
    [Fact]
    public void Every_log_event_id_is_unique_and_in_the_dev_host_range() =>
        LogEventIds.AssertUniqueWithin(typeof(FunctionsDevHost).Assembly, 7000, 7999);
}
