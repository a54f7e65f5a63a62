using Pdm.Telemetry;

namespace Pdm.Simulator.Tests;

public class FleetSimulatorTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 6, 0, 0, TimeSpan.Zero);

    // Physically plausible bounds for the catalog sensors, independent of the simulator's own tables.
    private static readonly Dictionary<string, (double Min, double Max)> PlausibleRanges = new()
    {
        ["temperature"] = (-50, 400),
        ["spindle_speed"] = (0, 30_000),
        ["vibration"] = (0, 100),
        ["vibration_x"] = (0, 100),
        ["vibration_y"] = (0, 100),
        ["vibration_z"] = (0, 100),
        ["conveyor_speed"] = (0, 200),
        ["efficiency"] = (0, 100),
        ["pressure"] = (0, 400),
        ["precision"] = (0, 1_000),
        ["test_cycles"] = (0, 1e9),
        ["packaging_speed"] = (0, 1_000),
        ["flow"] = (0, 1_000),
        ["current"] = (0, 1_000),
    };

    private static List<IReadOnlyList<MachineSample>> Run(FleetSimulator fleet, int ticks, TimeSpan interval) =>
        [.. Enumerable.Range(0, ticks).Select(i => fleet.Tick(Start + (interval * i)))];

    [Fact]
    public void Default_fleet_has_the_five_original_machines_and_three_pumps()
    {
        var fleet = FleetDefinition.CreateDefault();

        Assert.Equal(
            ["EG_M001", "EG_M002", "EG_M003", "EG_M004", "EG_M005", "PUMP_001", "PUMP_002", "PUMP_003"],
            fleet.Machines.Select(m => m.MachineId));
        Assert.Equal(["temperature", "spindle_speed", "vibration"], fleet.Machines[0].Sensors.Select(s => s.Sensor));
        Assert.Equal(["precision", "test_cycles"], fleet.Machines[3].Sensors.Select(s => s.Sensor));
        Assert.Equal(
            ["vibration_x", "vibration_y", "vibration_z", "pressure", "flow", "current", "temperature"],
            fleet.Machines[5].Sensors.Select(s => s.Sensor));
    }

    [Fact]
    public void Same_seed_and_times_give_identical_samples()
    {
        var first = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 7)), 500, TimeSpan.FromSeconds(1));
        var second = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 7)), 500, TimeSpan.FromSeconds(1));

        Assert.Equal(Flatten(first), Flatten(second));
    }

    [Fact]
    public void Different_seeds_give_different_samples()
    {
        var first = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 7)), 50, TimeSpan.FromSeconds(1));
        var second = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 8)), 50, TimeSpan.FromSeconds(1));

        Assert.NotEqual(Flatten(first), Flatten(second));
    }

    [Fact]
    public void Adding_pumps_leaves_the_other_machines_data_unchanged()
    {
        var small = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 3, pumpCount: 1)), 100, TimeSpan.FromSeconds(1));
        var large = Run(new FleetSimulator(FleetDefinition.CreateDefault(seed: 3, pumpCount: 5)), 100, TimeSpan.FromSeconds(1));

        Assert.Equal(Flatten(small), Flatten(large.Select(tick => tick.Take(6).ToList())));
    }

    [Fact]
    public void Every_value_over_a_simulated_week_is_plausible_for_its_sensor()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault(seed: 11, pumpCount: 3));

        var ticks = Run(fleet, 7 * 24 * 60, TimeSpan.FromMinutes(1));

        foreach (var sample in ticks.SelectMany(t => t))
        {
            foreach (var value in sample.Values)
            {
                var (min, max) = PlausibleRanges[value.Sensor];
                Assert.True(
                    double.IsFinite(value.Value) && value.Value >= min && value.Value <= max,
                    $"{sample.MachineId} {value.Sensor} = {value.Value} at {sample.Timestamp:O} outside {min}..{max}");
            }
        }
    }

    [Fact]
    public void Cnc_mill_runs_in_its_operating_band()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault(seed: 5, pumpCount: 0));

        var mill = Run(fleet, 24 * 60 * 6, TimeSpan.FromSeconds(10)).Select(t => t[0]).ToList();

        Assert.All(mill, s => Assert.InRange(Value(s, "spindle_speed"), 7_800, 12_200));
        Assert.All(mill, s => Assert.InRange(Value(s, "temperature"), 38, 80));
        Assert.All(mill, s => Assert.InRange(Value(s, "vibration"), 0.3, 4));
        // Jobs change the spindle speed over a day.
        Assert.True(mill.Select(s => Math.Round(Value(s, "spindle_speed") / 250)).Distinct().Count() > 3);
    }

    [Fact]
    public void Test_cycles_never_decrease_and_grow_over_time()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault(seed: 2));

        var cycles = Run(fleet, 3600, TimeSpan.FromSeconds(1)).Select(t => Value(t[3], "test_cycles")).ToList();

        Assert.All(cycles.Zip(cycles.Skip(1)), pair => Assert.True(pair.Second >= pair.First, $"{pair.Second} < {pair.First}"));
        Assert.InRange(cycles[^1] - cycles[0], 1000, 3000);
    }

    [Fact]
    public void Pump_pressure_falls_and_current_rises_with_flow()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault(seed: 9, pumpCount: 1));

        var pump = Run(fleet, 7 * 24 * 60, TimeSpan.FromMinutes(1)).Select(t => t[5]).ToList();
        var flow = pump.Select(s => Value(s, "flow")).ToArray();

        Assert.True(Correlation(flow, [.. pump.Select(s => Value(s, "pressure"))]) < -0.8);
        Assert.True(Correlation(flow, [.. pump.Select(s => Value(s, "current"))]) > 0.8);
    }

    [Fact]
    public void Sequence_starts_at_zero_and_counts_up_per_machine()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault());

        var ticks = Run(fleet, 5, TimeSpan.FromSeconds(1));

        for (var i = 0; i < ticks.Count; i++)
        {
            Assert.All(ticks[i], s => Assert.Equal(i, s.Sequence));
            Assert.All(ticks[i], s => Assert.Equal(Start + TimeSpan.FromSeconds(i), s.Timestamp));
        }
    }

    [Fact]
    public void Time_going_backwards_still_gives_a_sample()
    {
        var fleet = new FleetSimulator(FleetDefinition.CreateDefault());
        fleet.Tick(Start);

        var samples = fleet.Tick(Start - TimeSpan.FromMinutes(1));

        Assert.Equal(8, samples.Count);
        Assert.All(samples, s => Assert.Equal(1, s.Sequence));
    }

    [Fact]
    public void Duplicate_machine_ids_are_refused()
    {
        var pump = FleetDefinition.Pump(1);
        var fleet = new FleetDefinition { Seed = 1, Machines = [pump, pump] };

        var error = Assert.Throws<ArgumentException>(() => new FleetSimulator(fleet));

        Assert.Contains("PUMP_001", error.Message, StringComparison.Ordinal);
    }

    private static double Value(MachineSample sample, string sensor) => sample.Values.Single(v => v.Sensor == sensor).Value;

    private static List<string> Flatten(IEnumerable<IReadOnlyList<MachineSample>> ticks) =>
        [.. ticks.SelectMany(t => t).Select(s =>
            $"{s.MachineId}|{s.Timestamp:O}|{s.Sequence}|{string.Join(",", s.Values.Select(v => $"{v.Sensor}={v.Value:R}"))}")];

    private static double Correlation(double[] x, double[] y)
    {
        var meanX = x.Average();
        var meanY = y.Average();
        var covariance = x.Zip(y).Sum(p => (p.First - meanX) * (p.Second - meanY));
        var spreadX = Math.Sqrt(x.Sum(v => (v - meanX) * (v - meanX)));
        var spreadY = Math.Sqrt(y.Sum(v => (v - meanY) * (v - meanY)));
        return covariance / (spreadX * spreadY);
    }
}
