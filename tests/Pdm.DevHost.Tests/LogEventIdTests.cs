using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Pdm.DevHost.Tests;

public class LogEventIdTests
{
    [Fact]
    public void Every_log_event_id_is_unique_and_in_the_dev_host_range()
    {
        var ids = typeof(FunctionsDevHost).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 7000, 7999));
    }
}
