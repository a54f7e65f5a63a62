using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Tests.Anomaly;
using Pdm.Simulator.Twin;

namespace Pdm.Analytics.Tests;

/// <summary>
/// The detectors on the digital twin's centrifugal pumps: quiet on healthy machines they were not trained on, loud on
/// injected measurement faults and on worn machines. Figures seen when written (seed 11): fleet model healthy alarm
/// rate 1.6 % (target 1 %), glitches 30/30 found and named, heat waves 13/13, FAULTY/BROKEN 100 %; warm-up baseline
/// 0.5 % healthy, learned model 1.1-2.4 % on one sample a minute, 0-1.2 % on one a second with its window spread over a
/// day (72-94 % with 512 consecutive seconds). Stuck and dropped sensors are not asserted: no detector finds them
/// beyond the chance of an alarm during a 10-20 sample stretch.
/// </summary>
public class TwinDetectionTests
{
    private const double TargetRate = 0.01;

    private static readonly ChaosOptions Chaos = new()
    {
        GlitchRate = 0.004, HeatWaveRate = 0.002, StuckRate = 0.004, DropRate = 0.004,
    };

    // A fleet model of ten pumps' healthy lives: pumps differ in size, so it needs several to know the range.
    private static readonly Lazy<AnomalyModel> Fleet = new(() =>
        AnomalyModel.Fit(TwinData.Healthy(Enumerable.Range(1, 10)), seed: 5).Model!);

    private static readonly int[] HeldOut = [.. Enumerable.Range(11, 10)];

    private sealed record Scored(TwinSample Sample, AnomalyScore Score);

    private static List<Scored> ScoreWithFleet(ChaosOptions? chaos) =>
        [.. HeldOut.SelectMany(m =>
        {
            var scorer = Fleet.Value.CreateScorer();
            return TwinData.Run(m, chaos).Select(s => new Scored(s, scorer.Score(TwinData.Values(s), TwinData.Time(s))))
                .ToList();
        })];

    private static double Rate<T>(IEnumerable<T> items, Func<T, bool> condition) =>
        items.Average(i => condition(i) ? 1.0 : 0.0);

    /// <summary>Each injection as the run of consecutive samples carrying its label, on a healthy machine.</summary>
    private static List<(ChaosLabel Label, List<Scored> Samples)> Injections(IEnumerable<Scored> scored, ChaosKind kind)
    {
        var injections = new List<(ChaosLabel, List<Scored>)>();
        List<Scored>? open = null;
        ChaosLabel? openLabel = null;
        foreach (var s in scored)
        {
            var label = s.Sample.Truth.Chaos.FirstOrDefault(c => c.Kind == kind);
            if (label is null || label != openLabel || s.Sample.Truth.Elapsed == TimeSpan.Zero)
            {
                open = null;
            }
            if (label is not null && s.Sample.Truth.State == MachineState.Healthy)
            {
                if (open is null)
                {
                    open = [];
                    injections.Add((label, open));
                }
                open.Add(s);
            }
            openLabel = label;
        }
        return injections;
    }

    private static bool Named(Scored s, string sensor) =>
        s.Score.IsAnomaly && TwinData.Sensors[s.Score.TopSensor] == sensor;

    [Fact]
    public void Fleet_model_alarms_on_healthy_pumps_it_never_saw_near_the_target_rate()
    {
        var healthy = ScoreWithFleet(null).Where(s => s.Sample.Truth.State == MachineState.Healthy).ToList();

        var rate = Rate(healthy, s => s.Score.Score > s.Score.Threshold);

        Assert.True(healthy.Count > 5000);
        Assert.True(rate <= 3 * TargetRate, $"healthy alarm rate {rate:P2}");
    }

    [Fact]
    public void Fleet_model_finds_glitches_and_heat_waves_and_names_the_sensor()
    {
        var scored = ScoreWithFleet(Chaos);

        var glitches = Injections(scored, ChaosKind.VibrationGlitch);
        var heatWaves = Injections(scored, ChaosKind.HeatWave).Where(h => h.Samples.Count >= 80).ToList();

        Assert.True(glitches.Count >= 20, $"{glitches.Count} glitches");
        Assert.True(Rate(glitches, g => g.Samples.Any(s => Named(s, g.Label.Sensor))) >= 0.9);
        // A heat wave is found when the temperature is named on most of its plateau (its middle third).
        Assert.True(heatWaves.Count >= 5, $"{heatWaves.Count} heat waves");
        Assert.True(Rate(heatWaves, h => Rate(h.Samples.Skip(40).Take(40), s => Named(s, "temperature")) >= 0.5) >= 0.8);
    }

    [Fact]
    public void Fleet_model_flags_faulty_and_broken_pumps_by_score_alone()
    {
        var worn = ScoreWithFleet(null)
            .Where(s => s.Sample.Truth.State is MachineState.Faulty or MachineState.Broken).ToList();

        Assert.True(worn.Count > 500);
        Assert.True(Rate(worn, s => s.Score.IsAnomaly) >= 0.99);
        // Not only the ISO zone check: the trained ensemble scores them above its threshold too.
        Assert.True(Rate(worn, s => s.Score.Score > s.Score.Threshold) >= 0.95);
    }

    private static List<(Scored Item, bool WarmingUp)> Track(TwinSample[] run)
    {
        var tracker = MachineAnomalyTracker.WarmingUp(TwinData.Sensors, seed: 3);
        return [.. run.Select(s =>
        {
            var warming = tracker.IsWarmingUp;
            return (new Scored(s, tracker.Score(TwinData.Values(s), TwinData.Time(s))), warming);
        })];
    }

    /// <summary>A steady pump sampled every second for 55 hours: load and ambient cycles take hours.</summary>
    private static (double Baseline, double Learned, int LearnedSamples) AlarmRates(TimeSpan minimumSpan)
    {
        var run = RunToFailureExporter.Run(TwinData.Options() with
        {
            Twin = new TwinOptions { Mode = TwinMode.Nominal, MeanTimeToFailure = TimeSpan.FromDays(3650) },
            Interval = TimeSpan.FromSeconds(1),
        }, 2).Take(200_000);
        var tracker = MachineAnomalyTracker.WarmingUp(TwinData.Sensors, seed: 3, minimumSpan: minimumSpan);
        int baseline = 0, baselineAlarms = 0, learned = 0, learnedAlarms = 0;
        foreach (var sample in run)
        {
            var warming = tracker.IsWarmingUp;
            var alarm = tracker.Score(TwinData.Values(sample), TwinData.Time(sample)).IsAnomaly ? 1 : 0;
            (baseline, baselineAlarms, learned, learnedAlarms) = warming
                ? (baseline + 1, baselineAlarms + alarm, learned, learnedAlarms)
                : (baseline, baselineAlarms, learned + 1, learnedAlarms + alarm);
        }
        return ((double)baselineAlarms / baseline, (double)learnedAlarms / Math.Max(1, learned), learned);
    }

    [Fact]
    public void Warm_up_spread_over_a_day_learns_a_quiet_model_where_consecutive_seconds_do_not()
    {
        var day = AlarmRates(TimeSpan.FromDays(1));
        var minutes = AlarmRates(TimeSpan.Zero);

        Assert.True(day.LearnedSamples > 100_000, $"{day.LearnedSamples} samples scored by the learned model");
        Assert.True(day.Baseline <= TargetRate, $"baseline {day.Baseline:P2}");
        Assert.True(day.Learned <= 3 * TargetRate, $"learned over a day {day.Learned:P2}");
        // 512 consecutive seconds miss the pump's cycles: the model learned from them alarms on most of what follows.
        Assert.True(minutes.Learned > 0.5, $"learned over 512 s {minutes.Learned:P2}");
    }

    [Fact]
    public void Warming_up_tracker_is_quiet_on_steady_healthy_pumps_before_and_after_it_learns()
    {
        var tracked = Enumerable.Range(1, 6).SelectMany(m => Track(TwinData.Steady(m, 2500))).ToList();
        var baseline = tracked.Where(t => t.WarmingUp).Skip(MachineAnomalyTracker.SettleSamples).ToList();
        var learned = tracked.Where(t => !t.WarmingUp).ToList();

        Assert.True(Rate(baseline, t => t.Item.Score.IsAnomaly) <= TargetRate);
        // 512 samples are eight and a half hours of one pump; calibrated on the window's second half, the learned
        // model holds near the target on the hours after (1.1-2.4 % seen).
        Assert.True(Rate(learned, t => t.Item.Score.IsAnomaly) <= 3 * TargetRate,
            $"learned {Rate(learned, t => t.Item.Score.IsAnomaly):P2}");
        Assert.All(baseline, t => Assert.Equal(0, t.Item.Score.Temporal + t.Item.Score.IsolationForest + t.Item.Score.Pca));
    }

    [Fact]
    public void Warming_up_tracker_finds_glitches_with_its_baseline_and_its_learned_model()
    {
        var tracked = Enumerable.Range(1, 6).SelectMany(m => Track(TwinData.Steady(m, 2500, Chaos))).ToList();

        foreach (var phase in new[] { true, false })
        {
            var glitches = Injections(tracked.Where(t => t.WarmingUp == phase).Select(t => t.Item),
                ChaosKind.VibrationGlitch);
            Assert.True(glitches.Count >= 5, $"{glitches.Count} glitches");
            Assert.True(Rate(glitches, g => g.Samples.Any(s => Named(s, g.Label.Sensor))) >= 0.9);
        }
    }

    [Fact]
    public void Warming_up_tracker_flags_faulty_and_broken_pumps()
    {
        var worn = HeldOut.SelectMany(m => Track(TwinData.Run(m)))
            .Where(t => t.Item.Sample.Truth.State is MachineState.Faulty or MachineState.Broken).ToList();

        Assert.True(worn.Count > 500);
        Assert.True(Rate(worn, t => t.Item.Score.IsAnomaly) >= 0.99);
    }
}

/// <summary>Running totals (a tester's cycle count) and the warm-up: a level that only grows is never normal.</summary>
public class CumulativeSensorTests
{
    private static readonly string[] TesterSensors =
        [.. Pdm.Simulator.MachineProfile.SensorsOf(Pdm.Simulator.MachineKind.QualityTester).Select(s => s.Sensor).Order(StringComparer.Ordinal)];

    [Fact]
    public void Scored_sensors_leave_out_running_totals_unless_nothing_else_is_left()
    {
        Assert.Equal(["precision"], MachineAnomalyTracker.ScoredSensors(TesterSensors));
        Assert.Equal(["power"], MachineAnomalyTracker.ScoredSensors(["energy", "power"]));
        Assert.Equal(["energy", "test_cycles"], MachineAnomalyTracker.ScoredSensors(["energy", "test_cycles"]));
        Assert.Equal(["my_custom_total"], MachineAnomalyTracker.ScoredSensors(["my_custom_total"]));
    }

    /// <summary>Two days of a healthy tester, a sample a minute: with the cycle count the warm-up never ends.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tester_learns_a_model_only_without_its_cycle_count(bool leaveOutTotals)
    {
        var run = RunToFailureExporter.Run(new RunToFailureOptions
        {
            Machines = 1,
            Kinds = [Pdm.Simulator.MachineKind.QualityTester],
            Twin = new TwinOptions { Mode = TwinMode.Nominal, MeanTimeToFailure = TimeSpan.FromDays(3650) },
            Interval = TimeSpan.FromMinutes(1),
            Seed = 4,
        }, 1).Take(2 * 1440);
        var sensors = leaveOutTotals ? MachineAnomalyTracker.ScoredSensors(TesterSensors) : TesterSensors;
        var tracker = MachineAnomalyTracker.WarmingUp(sensors, seed: 3);
        var values = new double[sensors.Length];
        foreach (var sample in run)
        {
            foreach (var v in sample.Values)
            {
                var i = Array.IndexOf(sensors, v.Sensor);
                if (i >= 0)
                {
                    values[i] = v.Value;
                }
            }
            tracker.Score(values, sample.Timestamp.ToUnixTimeSeconds());
        }

        Assert.Equal(leaveOutTotals, !tracker.IsWarmingUp);
    }
}
