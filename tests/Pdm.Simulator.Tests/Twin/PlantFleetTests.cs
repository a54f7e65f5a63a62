using Xunit.Abstractions;
using Pdm.Simulator.Twin;
using static Pdm.Simulator.Tests.Twin.TwinTestData;

namespace Pdm.Simulator.Tests.Twin;

public class PlantFleetTests(ITestOutputHelper output)
{
    private static readonly PlantOptions Plant = new();

    /// <summary>The plant's states at every machine hour of <paramref name="span"/> (machine time), and its failures.</summary>
    private static (List<PlantCensus> Census, int Failures) Observe(FleetDefinition layout, TimeSpan span)
    {
        var machines = PlantFleet.Create(layout, Plant);
        var step = Plant.ToWall(TimeSpan.FromHours(1));
        var census = new List<PlantCensus>();
        var broken = new bool[machines.Count];
        var failures = 0;
        for (var t = TimeSpan.Zero; t <= Plant.ToWall(span); t += step)
        {
            for (var i = 0; i < machines.Count; i++)
            {
                var isBroken = machines[i].Step(Start + t).Truth.State == MachineState.Broken;
                failures += isBroken && !broken[i] ? 1 : 0;
                broken[i] = isBroken;
            }
            census.Add(PlantFleet.Census(machines));
        }
        return (census, failures);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(1)]
    [InlineData(2026)]
    public void Over_a_machine_year_most_machines_are_healthy_a_few_degrade_and_failed_ones_are_replaced(int seed)
    {
        var layout = PlantFleet.Layout(seed, pumpCount: 3);
        var year = TimeSpan.FromDays(365);

        var (census, failures) = Observe(layout, year);

        var machines = layout.Machines.Count;
        var healthyShare = census.Average(c => (double)c.Healthy / machines);
        var degradingShare = census.Average(c => (double)c.Degrading / machines);
        var mostHealthy = census.Count(c => c.Healthy * 2 > machines) / (double)census.Count;
        output.WriteLine($"seed {seed}: healthy {healthyShare:P0}, degrading {degradingShare:P0}, instants with most healthy {mostHealthy:P1}, "
            + $"failures {failures}, replacements {census[^1].Replacements}, min healthy {census.Min(c => c.Healthy)}, max degrading {census.Max(c => c.Degrading)}");

        Assert.All(census, c => Assert.Equal(machines, c.Machines));
        Assert.True(healthyShare >= 0.75, $"healthy on average {healthyShare:P0}");
        Assert.True(mostHealthy >= 0.95, $"most machines healthy at only {mostHealthy:P1} of the hours");
        Assert.InRange(degradingShare, 0.05, 0.3);
        Assert.True(census.Count(c => c.Degrading > 0) > census.Count / 2, "somebody degrades most of the time");
        // A 30-day mean life: about 365 / 30 lives per machine and year.
        Assert.InRange(failures, machines * 365 / 30 / 2, machines * 365 / 30 * 2);
        Assert.InRange(census[^1].Replacements, failures - machines, failures);
        Assert.True(census.Max(c => c.Failed) < machines / 2, "failures are spread, not all at once");
    }

    [Fact]
    public void A_compressed_twin_at_wall_time_t_is_the_same_machine_at_machine_time_t_times_the_scale()
    {
        var profile = Machine(MachineKind.CentrifugalPump);
        var life = TimeSpan.FromDays(30);
        var compressed = new DegradingMachine(profile, 21, new TwinOptions { MeanTimeToFailure = life, TimeScale = 1440 });
        var real = new DegradingMachine(profile, 21, new TwinOptions { MeanTimeToFailure = life });

        Assert.Equal(real.TimeToFailure, compressed.TimeToFailure);
        for (var second = 0; second < 600; second += 7)
        {
            var fast = compressed.Step(Start + TimeSpan.FromSeconds(second));
            var slow = real.Step(Start + TimeSpan.FromSeconds(second * 1440.0));
            Assert.Equal(slow.Values, fast.Values);
            Assert.Equal(slow.Truth, fast.Truth);
            Assert.Equal(TimeSpan.FromDays(second / 60.0).TotalSeconds, fast.Truth.Elapsed.TotalSeconds, 3);
        }
    }

    [Fact]
    public void A_machine_installed_part_way_starts_with_that_share_of_its_life_run()
    {
        var machine = new DegradingMachine(Machine(MachineKind.CncMill), 5, Plant.Twin, startAge: 0.75);

        var first = machine.Step(Start);

        Assert.Equal(machine.TimeToFailure * 0.75, first.Truth.Elapsed);
        Assert.Equal(machine.TimeToFailure * 0.25, first.Truth.RemainingUsefulLife);
        Assert.Equal(Math.Pow(0.75, Plant.WearExponent), first.Truth.Wear, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DegradingMachine(Machine(MachineKind.CncMill), 5, Plant.Twin, startAge: 1));
    }

    [Fact]
    public void The_repair_time_is_machine_time()
    {
        var position = new MaintainedMachine(Machine(MachineKind.CentrifugalPump), 3, Plant.Twin, Plant.RepairTime, startAge: 0.999);
        var step = TimeSpan.FromSeconds(1);
        var samples = new List<TwinSample>();
        for (var t = TimeSpan.Zero; position.Replacements == 0; t += step)
        {
            samples.Add(position.Step(Start + t));
        }

        var broken = samples.FindIndex(s => s.Truth.State == MachineState.Broken);
        Assert.Equal(Plant.ToWall(Plant.RepairTime), samples[^1].Timestamp - samples[broken].Timestamp);
        Assert.Equal(TimeSpan.FromSeconds(20), Plant.ToWall(Plant.RepairTime));
        Assert.Equal(MachineState.Healthy, samples[^1].Truth.State);
    }

    [Fact]
    public void The_layout_names_and_places_every_machine_and_keeps_the_original_ids()
    {
        var layout = PlantFleet.Layout(seed: 7, pumpCount: 5);

        Assert.Equal(FleetDefinition.CreateDefault(seed: 7, pumpCount: 5).Machines.Select(m => (m.MachineId, m.Kind)),
            layout.Machines.Select(m => (m.MachineId, m.Kind)));
        Assert.Equal(["Cooling water pump 1", "Cooling water pump 2", "Process water pump 1", "Boiler feed pump 1", "Cooling water pump 3"],
            layout.Machines.Where(m => m.Kind == MachineKind.CentrifugalPump).Select(m => m.Name));
        Assert.Equal(layout.Machines.Count, layout.Machines.Select(m => m.Name).Distinct().Count());
        Assert.All(layout.Machines, m => Assert.False(string.IsNullOrWhiteSpace(m.Location)));
    }

    [Fact]
    public void Start_ages_are_one_in_each_nth_of_a_life_shuffled_and_seeded()
    {
        var layout = PlantFleet.Layout(seed: 7, pumpCount: 3);

        var ages = PlantFleet.StartAges(layout);

        Assert.Equal(ages, PlantFleet.StartAges(layout));
        Assert.NotEqual(ages, PlantFleet.StartAges(layout with { Seed = 8 }));
        var sorted = ages.Order().ToArray();
        for (var k = 0; k < sorted.Length; k++)
        {
            Assert.InRange(sorted[k], (double)k / sorted.Length, (k + 1.0) / sorted.Length);
        }
        Assert.NotEqual(sorted, ages);
    }
}
