using System.Reflection;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>Each project logs in its own id range, so an event id names one place in the whole system.</summary>
public class LogEventIdTests
{
    public static TheoryData<string, int, int> Ranges => new()
    {
        { "Pdm.Storage", 3000, 3999 },
        { "handler", 4000, 4099 },
        { "Pdm.Ingest", 4100, 4199 },
        { "Pdm.Prediction", 4200, 4299 },
        { "Pdm.Notifications", 10200, 10299 },
        { "Pdm.Edge", 5000, 5399 },
        { "Pdm.Mqtt", 6000, 6099 },
        { "Pdm.IotHub", 6500, 6599 },
        { "Pdm.DevHost", 7000, 7999 },
        { "Pdm.LocalStack", 8000, 8099 },
        { "Pdm.Simulator", 9000, 9999 },
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void Log_event_ids_are_unique_and_in_the_projects_range(string assembly, int first, int last) =>
        LogEventIds.AssertUniqueWithin(Assembly.Load(assembly), first, last);
}
