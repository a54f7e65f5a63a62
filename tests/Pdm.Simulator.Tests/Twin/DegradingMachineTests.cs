using Pdm.Telemetry;
using Pdm.Simulator.Twin;
using static Pdm.Simulator.Tests.Twin.TwinTestData;

namespace Pdm.Simulator.Tests.Twin;

public class DegradingMachineTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(0.25);

    [Fact]
    public void Same_seed_gives_identical_values_and_truth()
    {
        var first = RunToFailure(new DegradingMachine(Machine(MachineKind.CentrifugalPump), 42, Stress), Interval);
        var second = RunToFailure(new DegradingMachine(Machine(MachineKind.CentrifugalPump), 42, Stress), Interval);

        Assert.Equal(first.Count, second.Count);
        Assert.Equal(first.SelectMany(s => s.Values), second.SelectMany(s => s.Values));
        Assert.Equal(first.Select(s => s.Truth), second.Select(s => s.Truth));
    }

    [Fact]
    public void Different_seeds_give_different_lives_and_values()
    {
        var first = new DegradingMachine(Machine(MachineKind.CentrifugalPump), 42, Stress);
        var second = new DegradingMachine(Machine(MachineKind.CentrifugalPump), 43, Stress);

        Assert.NotEqual(first.TimeToFailure, second.TimeToFailure);
        Assert.NotEqual(first.Step(Start).Values, second.Step(Start).Values);
    }

    [Theory]
    [InlineData(TwinMode.Nominal, 27 * 3600.0)]
    [InlineData(TwinMode.Accelerated, 20 * 60.0)]
    [InlineData(TwinMode.Stress, 150.0)]
    public void Weibull_lives_average_to_the_mode_mean(TwinMode mode, double meanSeconds)
    {
        var options = new TwinOptions { Mode = mode };

        var lives = Enumerable.Range(0, 4000)
            .Select(seed => new DegradingMachine(Machine(MachineKind.CentrifugalPump), seed, options).TimeToFailure.TotalSeconds)
            .ToList();

        // Shape 2.5 has a coefficient of variation of about 0.42: 4000 draws put the mean within about 2 %.
        Assert.InRange(lives.Average(), meanSeconds * 0.95, meanSeconds * 1.05);
        Assert.True(lives.Min() > 0);
    }

    [Fact]
    public void Gamma_matches_known_values()
    {
        Assert.Equal(1, Weibull.Gamma(1), 12);
        Assert.Equal(24, Weibull.Gamma(5), 10);
        Assert.Equal(Math.Sqrt(Math.PI), Weibull.Gamma(0.5), 12);
        Assert.Equal(0.887264, Weibull.Gamma(1.4), 6);
    }

    [Theory]
    [InlineData(MachineKind.CncMill)]
    [InlineData(MachineKind.AssemblyLine)]
    [InlineData(MachineKind.PressMachine)]
    [InlineData(MachineKind.QualityTester)]
    [InlineData(MachineKind.PackagingUnit)]
    [InlineData(MachineKind.CentrifugalPump)]
    public void Every_kind_passes_through_every_state_in_order_and_breaks_in_time(MachineKind kind)
    {
        for (var seed = 0; seed < 10; seed++)
        {
            var machine = new DegradingMachine(Machine(kind), seed, Stress);

            var samples = RunToFailure(machine, Interval);

            Assert.True(samples[^1].Truth.Elapsed <= TimeSpan.FromSeconds(150 * 5), $"{kind} seed {seed} lived {samples[^1].Truth.Elapsed}");
            var states = samples.Select(s => s.Truth.State).ToList();
            Assert.All(states.Zip(states.Skip(1)), p => Assert.True(p.Second >= p.First, $"{kind} seed {seed}: {p.First} then {p.Second}"));
            Assert.Equal(
                [MachineState.Healthy, MachineState.Warning, MachineState.Faulty, MachineState.Broken],
                states.Distinct());
            Assert.Equal(TimeSpan.Zero, samples[^1].Truth.RemainingUsefulLife);
            Assert.Equal(machine.Profile.Sensors.Select(s => s.Sensor), samples[^1].Values.Select(v => v.Sensor));
            Assert.All(samples.SelectMany(s => s.Values), v => Assert.True(double.IsFinite(v.Value), $"{v.Sensor} = {v.Value}"));
        }
    }

    [Theory]
    [InlineData(MachineKind.CentrifugalPump)]
    [InlineData(MachineKind.CncMill)]
    [InlineData(MachineKind.PressMachine)]
    public void Smoothed_measured_vibration_moves_through_the_zones_in_order(MachineKind kind)
    {
        for (var seed = 0; seed < 10; seed++)
        {
            var machine = new DegradingMachine(Machine(kind), seed, Stress);
            var samples = RunToFailure(machine, Interval);
            var vibration = samples.Select(s => s.Values.Where(v => v.Sensor.StartsWith("vibration", StringComparison.Ordinal)).Max(v => v.Value)).ToList();

            // Moving average of 9 samples, as a monitoring system would smooth before judging a zone.
            var zones = Enumerable.Range(0, vibration.Count - 8)
                .Select(i => machine.Boundaries.Classify(vibration.Skip(i).Take(9).Average()))
                .ToList();

            var firstC = zones.IndexOf(VibrationZone.C);
            var firstD = zones.IndexOf(VibrationZone.D);
            Assert.True(firstC >= 0 && firstD > firstC, $"{kind} seed {seed}: first C at {firstC}, first D at {firstD}");
            Assert.Equal(VibrationZone.D, zones[^1]);
            // Noise may dither across a boundary, but the reading never falls back more than one zone.
            var worst = VibrationZone.A;
            foreach (var zone in zones)
            {
                worst = zone > worst ? zone : worst;
                Assert.True(zone >= worst - 1, $"{kind} seed {seed}: {zone} after {worst}");
            }
            // The measured zone agrees with the truth's within one zone.
            Assert.All(zones.Select((z, i) => (z, samples[i + 4].Truth.Zone)), p => Assert.InRange(p.z - p.Zone, -1, 1));
        }
    }

    [Theory]
    [InlineData(MachineKind.CentrifugalPump, "vibration_x")]
    [InlineData(MachineKind.CentrifugalPump, "vibration_z")]
    [InlineData(MachineKind.CncMill, "vibration")]
    [InlineData(MachineKind.PressMachine, "vibration")]
    public void Vibration_correlates_with_wear(MachineKind kind, string sensor)
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var samples = RunToFailure(new DegradingMachine(Machine(kind), seed, Stress), Interval);

            var correlation = Pearson([.. samples.Select(s => s.Truth.Wear)], [.. samples.Select(s => Value(s, sensor))]);

            Assert.True(correlation > 0.8, $"{kind} seed {seed}: r = {correlation}");
        }
    }

    [Fact]
    public void Worn_pump_runs_hotter_with_more_current_and_less_hydraulic_output()
    {
        var samples = RunToFailure(new DegradingMachine(Machine(MachineKind.CentrifugalPump), 3, Stress), Interval);
        var early = samples.Take(samples.Count / 10).ToList();
        var late = samples.Skip(samples.Count * 95 / 100).ToList();

        Assert.True(late.Average(s => Value(s, "temperature")) > early.Average(s => Value(s, "temperature")) + 10);
        Assert.True(late.Average(s => Value(s, "current")) > early.Average(s => Value(s, "current")));
        Assert.True(late.Average(HydraulicPerAmpere) < early.Average(HydraulicPerAmpere) * 0.8);
    }

    [Fact]
    public void Twin_option_of_the_factory_gives_a_degrading_machine_and_the_default_stays_foundation()
    {
        var profile = Machine(MachineKind.CncMill);

        Assert.IsType<DegradingMachine>(MachineModels.Create(profile, 1, Stress));
        Assert.IsNotType<DegradingMachine>(MachineModels.Create(profile, 1, twin: null));
        // At its first step wear is 0, so a new twin reports exactly what the foundation model reports.
        var twin = MachineModels.Create(profile, 1, Stress).Advance(Start);
        var foundation = MachineModels.Create(profile, 1).Advance(Start);
        Assert.Equal(foundation, twin);
    }

    private static double HydraulicPerAmpere(TwinSample s) => Value(s, "flow") * Value(s, "pressure") / Value(s, "current");
}
