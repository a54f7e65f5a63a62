using System.Reflection;
using Microsoft.Extensions.Logging;
using Pdm.Edge.Queue;
using Xunit.Abstractions;

namespace Pdm.Edge.Tests.Queue;

public sealed class QueueThroughputTests(ITestOutputHelper output) : IDisposable
{
    private readonly QueueFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Measure_times_both_directions_and_leaves_nothing_behind()
    {
        var result = QueueThroughput.Measure(_folder.Path, 20_000, 200);

        output.WriteLine($"enqueue {result.EnqueuePerSecond:F0}/s, dequeue+ack {result.DequeueAcknowledgePerSecond:F0}/s");
        Assert.Equal(20_000, result.Messages);
        Assert.True(result.EnqueuePerSecond > 0);
        Assert.True(result.DequeueAcknowledgePerSecond > 0);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder.Path));
    }

    [Fact]
    public void Queue_log_event_ids_are_unique_and_in_the_queue_range()
    {
        var ids = typeof(DiskQueue).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(DiskQueue).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 5000, 5099));
    }
}
