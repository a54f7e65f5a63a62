using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Pdm.Testing;

/// <summary>The event ids of every [LoggerMessage] method in an assembly; hand-kept id ranges drift, tests catch it.</summary>
public static class LogEventIds
{
    public static IReadOnlyList<int> Of(Assembly assembly) =>
        [.. assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)];

    /// <summary>Fails when an id repeats or falls outside the assembly's range.</summary>
    public static void AssertUniqueWithin(Assembly assembly, int first, int last)
    {
        var ids = Of(assembly);
        Assert.NotEmpty(ids);
        var repeated = ids.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, $"{assembly.GetName().Name}: event ids used twice: {string.Join(", ", repeated)}");
        Assert.All(ids, id => Assert.InRange(id, first, last));
    }
}
