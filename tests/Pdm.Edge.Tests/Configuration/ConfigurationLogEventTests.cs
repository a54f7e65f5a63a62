using System.Reflection;
using Microsoft.Extensions.Logging;
using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

public sealed class ConfigurationLogEventTests
{
    [Fact]
    public void Configuration_and_source_events_are_unique_and_within_5100_to_5199()
    {
        var ids = typeof(ConfigurationStore).Assembly.GetTypes()
            .Where(t => t.Namespace is "Pdm.Edge.Configuration" or "Pdm.Edge.Sources")
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 5100, 5199));
    }
}
