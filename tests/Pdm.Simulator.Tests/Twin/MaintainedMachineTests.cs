using Microsoft.Extensions.Logging;
using Pdm.Simulator.Twin;
using Pdm.Telemetry;
using static Pdm.Simulator.Tests.Twin.TwinTestData;

namespace Pdm.Simulator.Tests.Twin;

public class MaintainedMachineTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RepairTime = TimeSpan.FromSeconds(20);

    [Fact]
    public void A_machine_wears_through_the_zones_breaks_and_is_replaced_by_a_new_one_after_the_repair_time()
    {
        var logger = new RecordingLogger();
        var position = new MaintainedMachine(Machine(MachineKind.CentrifugalPump), 11, Stress, RepairTime, logger);
        var firstLife = position.Current.TimeToFailure;

        var samples = Run(position, untilReplacements: 1);

        var broken = samples.FindIndex(s => s.Truth.State == MachineState.Broken);
        Assert.True(broken > 0);
        var life = samples[..(broken + 1)];
        Assert.Equal(MachineState.Healthy, life[0].Truth.State);
        var firstZone = (int)life[0].Truth.Zone;
        Assert.Equal(Enumerable.Range(firstZone, (int)VibrationZone.D - firstZone + 1).Select(z => (VibrationZone)z),
            life.Select(s => s.Truth.Zone).Distinct());
        Assert.True(Value(life[^1], "vibration_x") > 3 * Value(life[0], "vibration_x"));

        // Broken until the repair time has passed, then a new machine: no wear, its own life.
        var replaced = samples.FindIndex(broken, s => s.Truth.State != MachineState.Broken);
        Assert.Equal(RepairTime, samples[replaced].Timestamp - samples[broken].Timestamp);
        Assert.Equal(MachineState.Healthy, samples[replaced].Truth.State);
        Assert.Equal(0, samples[replaced].Truth.Wear);
        Assert.Equal(1, position.Replacements);
        Assert.NotEqual(firstLife, position.Current.TimeToFailure);
        Assert.Equal([9010, 9011], logger.EventIds);
    }

    [Fact]
    public void The_same_seed_gives_the_same_lives_and_values()
    {
        var first = Run(new MaintainedMachine(Machine(MachineKind.PressMachine), 5, Stress, RepairTime), untilReplacements: 2);
        var second = Run(new MaintainedMachine(Machine(MachineKind.PressMachine), 5, Stress, RepairTime), untilReplacements: 2);

        Assert.Equal(first.Count, second.Count);
        Assert.Equal(first.SelectMany(s => s.Values), second.SelectMany(s => s.Values));
        Assert.Equal(first.Select(s => s.Truth), second.Select(s => s.Truth));
    }

    [Fact]
    public void A_twin_fleet_steps_every_machine_with_its_profile_sensors()
    {
        var definition = FleetDefinition.CreateDefault(seed: 7, pumpCount: 2);
        var fleet = FleetSimulator.CreateTwin(definition, Stress, RepairTime);

        var samples = fleet.Tick(Start);

        Assert.Equal(definition.Machines.Select(m => m.MachineId), samples.Select(s => s.MachineId));
        Assert.All(samples, (s, i) => Assert.Equal(definition.Machines[i].Sensors.Select(c => c.Sensor), s.Values.Select(v => v.Sensor)));
    }

    /// <summary>Samples every second until the position has been given <paramref name="untilReplacements"/> new machines.</summary>
    private static List<TwinSample> Run(MaintainedMachine position, int untilReplacements)
    {
        var samples = new List<TwinSample>();
        // Stress lives are minutes long; the bound only keeps a broken twin from looping for ever.
        for (var step = 0; position.Replacements < untilReplacements && step < 100_000; step++)
        {
            samples.Add(position.Step(Start + (Interval * step)));
        }
        Assert.Equal(untilReplacements, position.Replacements);
        return samples;
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<int> EventIds { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            EventIds.Add(eventId.Id);
    }
}
