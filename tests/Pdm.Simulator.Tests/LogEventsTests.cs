using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Pdm.Simulator.Tests;

public class LogEventsTests
{
    [Fact]
    public void Log_event_ids_are_unique_and_in_the_simulator_range()
    {
        var ids = typeof(DeviceSimulator).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 9000, 9999));
    }
}
