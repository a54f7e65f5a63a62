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
}
