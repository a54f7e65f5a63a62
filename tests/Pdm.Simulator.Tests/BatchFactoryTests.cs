using System.Text.Json;
using Pdm.Telemetry;

namespace Pdm.Simulator.Tests;

public class BatchFactoryTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_machine_sensor_timestamp_key_is_unique_across_all_messages()
    {
        var messages = CreateMessages(200, 10, BatchFactory.MaxSensorsPerMachine, Start, seed: 1);

        var keys = new List<(string Machine, string Sensor, string Timestamp)>();
        foreach (var body in messages)
        {
            using var json = JsonDocument.Parse(body);
            foreach (var machine in json.RootElement.GetProperty("machines").EnumerateArray())
            {
                var id = machine.GetProperty("machineId").GetString()!;
                var timestamp = machine.GetProperty("timestamp").GetString()!;
                keys.AddRange(machine.GetProperty("values").EnumerateObject().Select(v => (id, v.Name, timestamp)));
            }
        }

        Assert.Equal(200 * 10 * BatchFactory.MaxSensorsPerMachine, keys.Count);
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void Batches_have_the_requested_shape_and_catalog_sensors()
    {
        var batches = BatchFactory.CreateSampleBatches(3, 4, 2, Start, seed: 1);

        Assert.Equal(3, batches.Count);
        Assert.All(batches, b => Assert.Equal(4, b.Count));
        Assert.All(batches.SelectMany(b => b), s => Assert.Equal(["temperature", "spindle_speed"], s.Values.Select(v => v.Sensor)));
        Assert.All(batches.SelectMany(b => b), s => Assert.InRange(s.Values[0].Value, 30, 85));
        Assert.Equal([0L, 1L, 2L], batches.Select(b => b[0].Sequence));
    }

    [Fact]
    public void Same_arguments_give_the_same_bodies()
    {
        var first = CreateMessages(20, 5, 5, Start, seed: 9);
        var second = CreateMessages(20, 5, 5, Start, seed: 9);
        var other = CreateMessages(20, 5, 5, Start, seed: 10);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void More_sensors_than_the_catalog_has_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(
            () => CreateMessages(1, 1, BatchFactory.MaxSensorsPerMachine + 1, Start, seed: 1));
    }

    /// <summary>The batches of <see cref="BatchFactory.CreateSampleBatches"/>, each encoded as one telemetry v1 body.</summary>
    private static IReadOnlyList<byte[]> CreateMessages(int messageCount, int machinesPerMessage, int sensorsPerMachine,
        DateTimeOffset start, int seed) =>
        [.. BatchFactory.CreateSampleBatches(messageCount, machinesPerMessage, sensorsPerMachine, start, seed)
            .Select(batch => TelemetryEncoder.Encode(batch))];
}
