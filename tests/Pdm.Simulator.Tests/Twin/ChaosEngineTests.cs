using Pdm.Simulator.Twin;
using static Pdm.Simulator.Tests.Twin.TwinTestData;

namespace Pdm.Simulator.Tests.Twin;

public class ChaosEngineTests
{
    private const int Samples = 20_000;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // Long-lived machines, so the run is about chaos, not failure.
    private static readonly TwinOptions LongLived = new() { MeanTimeToFailure = TimeSpan.FromDays(365) };

    private static (List<TwinSample> Clean, List<TwinSample> Chaotic) Run(ChaosOptions options, int chaosSeed = 5)
    {
        var clean = new DegradingMachine(Machine(MachineKind.CentrifugalPump), 11, LongLived);
        var twin = new DegradingMachine(Machine(MachineKind.CentrifugalPump), 11, LongLived);
        var engine = new ChaosEngine(options, chaosSeed);
        var cleanSamples = new List<TwinSample>(Samples);
        var chaotic = new List<TwinSample>(Samples);
        for (var i = 0; i < Samples; i++)
        {
            cleanSamples.Add(clean.Step(Start + (Interval * i)));
            chaotic.Add(engine.Apply(twin.Step(Start + (Interval * i))));
        }
        return (cleanSamples, chaotic);
    }

    [Theory]
    [InlineData(ChaosKind.VibrationGlitch)]
    [InlineData(ChaosKind.HeatWave)]
    [InlineData(ChaosKind.StuckSensor)]
    [InlineData(ChaosKind.DroppedSensor)]
    public void Injections_start_at_the_configured_rate(ChaosKind kind)
    {
        const double rate = 0.01;
        var (_, chaotic) = Run(ChaosOptions.Uniform(rate));

        var active = chaotic.Select(s => s.Truth.Chaos.Any(c => c.Kind == kind)).ToList();
        var chances = active.Take(active.Count - 1).Count(a => !a);
        var onsets = active.Zip(active.Skip(1)).Count(p => !p.First && p.Second);

        var observed = (double)onsets / chances;
        Assert.InRange(observed, rate * 0.7, rate * 1.3);
    }

    [Fact]
    public void Every_labelled_injection_shows_in_the_values_and_unlabelled_samples_are_untouched()
    {
        var (clean, chaotic) = Run(ChaosOptions.Uniform(0.01));

        var counts = new Dictionary<ChaosKind, int>();
        for (var i = 0; i < Samples; i++)
        {
            var original = clean[i].Values.ToDictionary(v => v.Sensor, v => v.Value);
            var reported = chaotic[i].Values.ToDictionary(v => v.Sensor, v => v.Value);
            var hit = chaotic[i].Truth.Chaos.Select(c => c.Sensor).ToHashSet();
            foreach (var label in chaotic[i].Truth.Chaos)
            {
                counts[label.Kind] = counts.GetValueOrDefault(label.Kind) + 1;
                switch (label.Kind)
                {
                    case ChaosKind.VibrationGlitch:
                        Assert.StartsWith("vibration", label.Sensor, StringComparison.Ordinal);
                        Assert.InRange(reported[label.Sensor] / original[label.Sensor], 2.9, 5.1);
                        break;
                    case ChaosKind.HeatWave:
                        Assert.Equal("temperature", label.Sensor);
                        Assert.InRange(reported[label.Sensor] - original[label.Sensor], 0.01, 15.001);
                        break;
                    case ChaosKind.StuckSensor:
                        Assert.Equal(chaotic[i - 1].Values.Single(v => v.Sensor == label.Sensor).Value, reported[label.Sensor]);
                        break;
                    case ChaosKind.DroppedSensor:
                        Assert.False(reported.ContainsKey(label.Sensor));
                        break;
                }
            }
            Assert.All(original.Where(o => !hit.Contains(o.Key)), o => Assert.Equal(o.Value, reported[o.Key]));
            Assert.Equal(clean[i].Truth with { Chaos = [] }, chaotic[i].Truth with { Chaos = [] });
        }
        Assert.Equal(4, counts.Count);
    }

    [Fact]
    public void Heat_wave_ramps_up_to_its_peak_and_back()
    {
        var (clean, chaotic) = Run(new ChaosOptions { HeatWaveRate = 0.002 });

        var offsets = clean.Zip(chaotic).Select(p => TwinTestData.Value(p.Second, "temperature") - TwinTestData.Value(p.First, "temperature")).ToList();
        var first = chaotic.FindIndex(s => s.Truth.Chaos.Count > 0);

        Assert.True(first >= 0);
        Assert.InRange(offsets[first], 0, 1);
        Assert.Equal(15, offsets[first + 60], 2);
        Assert.InRange(offsets[first + 119], 0, 1);
        Assert.Equal(0, offsets[first + 120], 3);
    }

    [Fact]
    public void Same_seed_gives_the_same_injections_and_another_seed_others()
    {
        var first = Run(ChaosOptions.Uniform(0.01), chaosSeed: 1).Chaotic;
        var second = Run(ChaosOptions.Uniform(0.01), chaosSeed: 1).Chaotic;
        var other = Run(ChaosOptions.Uniform(0.01), chaosSeed: 2).Chaotic;

        Assert.Equal(first.SelectMany(s => s.Truth.Chaos), second.SelectMany(s => s.Truth.Chaos));
        Assert.Equal(first.SelectMany(s => s.Values), second.SelectMany(s => s.Values));
        Assert.NotEqual(first.SelectMany(s => s.Truth.Chaos), other.SelectMany(s => s.Truth.Chaos));
    }

    [Fact]
    public void Zero_rates_change_nothing()
    {
        var (clean, chaotic) = Run(new ChaosOptions());

        Assert.Equal(clean.SelectMany(s => s.Values), chaotic.SelectMany(s => s.Values));
        Assert.All(chaotic, s => Assert.Empty(s.Truth.Chaos));
    }

    [Fact]
    public void Impossible_options_are_refused_with_the_option_named()
    {
        Assert.Contains("GlitchRate", new ChaosOptions { GlitchRate = 1.5 }.Validate(), StringComparison.Ordinal);
        Assert.Contains("DropSamples", new ChaosOptions { DropSamples = 0 }.Validate(), StringComparison.Ordinal);
        Assert.Null(ChaosOptions.Uniform(0.1).Validate());
        Assert.Throws<ArgumentException>(() => new ChaosEngine(new ChaosOptions { StuckRate = -1 }, 1));
    }
}
