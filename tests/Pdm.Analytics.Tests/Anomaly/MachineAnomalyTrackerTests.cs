using Pdm.Analytics.Anomaly;
using Pdm.Telemetry;

namespace Pdm.Analytics.Tests.Anomaly;

public class MachineAnomalyTrackerTests
{
    private const int Window = MachineAnomalyTracker.DefaultWarmupSamples;
    private const int P = SensorData.Sensors;

    private static MachineAnomalyTracker NewTracker(ulong seed = 7) =>
        MachineAnomalyTracker.WarmingUp(SensorData.Names, seed);

    private static long[] Bits(AnomalyScore score, ReadOnlySpan<double> contributions) =>
    [
        BitConverter.DoubleToInt64Bits(score.Score), BitConverter.DoubleToInt64Bits(score.Threshold),
        BitConverter.DoubleToInt64Bits(score.IsolationForest), BitConverter.DoubleToInt64Bits(score.RobustEwma),
        BitConverter.DoubleToInt64Bits(score.Pca), BitConverter.DoubleToInt64Bits(score.Temporal),
        score.TopSensor, score.IsAnomaly ? 1 : 0, (int)score.Zone,
        .. contributions.ToArray().Select(BitConverter.DoubleToInt64Bits),
    ];

    private static double[] Samples()
    {
        var values = SensorData.Normal(1200, 31);
        // Short enough that the window still shows normal operation (a long fault in it would make it refused).
        SensorData.Step(values, 2, 300, 305, 8 * SensorData.StdDev(values, 2));
        SensorData.Step(values, 5, 900, 960, 8 * SensorData.StdDev(values, 5));
        values[(100 * P) + 4] = double.NaN;
        values.AsSpan(200 * P, P).Fill(double.NaN);
        return values;
    }

    private static List<long[]> ScoreRange(MachineAnomalyTracker tracker, double[] values, int from, int to)
    {
        var bits = new List<long[]>();
        for (var r = from; r < to; r++)
        {
            var score = tracker.Score(values.AsSpan(r * P, P), r);
            bits.Add(Bits(score, tracker.Contributions));
        }
        return bits;
    }

    [Fact]
    public void Warming_up_tracker_switches_to_a_model_fitted_on_its_window()
    {
        var values = Samples();
        var tracker = NewTracker();

        ScoreRange(tracker, values, 0, Window);
        Assert.True(tracker.IsWarmingUp);
        Assert.Null(tracker.LearnedModel);
        Assert.Equal(Window - 1, tracker.WarmupCollected); // the all-missing sample is not kept

        ScoreRange(tracker, values, Window, Window + 1);
        Assert.False(tracker.IsWarmingUp);
        Assert.NotNull(tracker.LearnedModel);
        Assert.Same(tracker.LearnedModel, tracker.Model);
        Assert.Equal(0, tracker.WarmupCollected);
        Assert.Equal(SensorData.Names, tracker.LearnedModel!.FeatureNames);
        var full = tracker.Score(values.AsSpan((Window + 1) * P, P), Window + 1);
        Assert.Equal(tracker.LearnedModel.Threshold, full.Threshold);
    }

    [Fact]
    public void Baseline_stays_quiet_while_it_settles_then_finds_a_step_and_names_the_sensor()
    {
        var values = Samples();
        var tracker = NewTracker();
        var scores = Enumerable.Range(0, 400).Select(r => tracker.Score(values.AsSpan(r * P, P), r)).ToList();

        Assert.All(scores.Take(MachineAnomalyTracker.SettleSamples), s => Assert.Equal(0, s.Score));
        Assert.True(scores.Take(300).Count(s => s.IsAnomaly) <= 3);
        Assert.True(scores.Skip(300).Take(5).All(s => s.IsAnomaly && s.TopSensor == 2));
        Assert.All(scores, s => Assert.Equal(0, s.IsolationForest + s.Pca + s.Temporal));
        Assert.Equal(2, scores[300].Threshold, 12); // -log10(1 %)
    }

    [Fact]
    public void Contributions_add_up_to_the_score_in_both_phases()
    {
        var values = Samples();
        var tracker = NewTracker();
        for (var r = 0; r < 1200; r++)
        {
            var score = tracker.Score(values.AsSpan(r * P, P), r);
            var sum = 0.0;
            foreach (var c in tracker.Contributions)
            {
                sum += c;
            }
            Assert.Equal(score.Score, sum, 9);
        }
    }

    [Fact]
    public void Zone_check_alarms_from_the_first_sample_without_training()
    {
        var vibration = Array.IndexOf(SensorData.Names, "vibration");
        var row = SensorData.Normal(1, 32);
        row[vibration] = 6.0;

        var score = NewTracker().Score(row, 0);

        Assert.Equal(VibrationZone.D, score.Zone);
        Assert.True(score.IsAnomaly);
        Assert.Equal(vibration, score.TopSensor);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(30)]
    [InlineData(250)]
    [InlineData(Window - 1)]
    [InlineData(Window)]
    [InlineData(Window + 1)]
    [InlineData(1000)]
    public void Restored_state_gives_bit_identical_scores_across_the_warm_up_switch(int saveAt)
    {
        var values = Samples();
        var running = NewTracker();
        var expected = ScoreRange(running, values, 0, 1200);

        var before = NewTracker();
        ScoreRange(before, values, 0, saveAt);
        var saved = before.SaveState();
        Assert.Equal(before.StateBytes, saved.Length);
        // After the switch the state belongs to the learned model, read back as a new process would.
        var restored = before.LearnedModel is { } learned
            ? MachineAnomalyTracker.ForModel(AnomalyModel.Read(learned.ToBytes()).Model!)
            : NewTracker();
        Assert.True(restored.TryRestoreState(saved, out var error), error);

        Assert.Equal(expected[saveAt..], ScoreRange(restored, values, saveAt, 1200));
        Assert.Equal(running.LearnedModel!.Fingerprint,
            (restored.LearnedModel ?? restored.Model)!.Fingerprint);
    }

    [Fact]
    public void Same_samples_and_seed_learn_the_same_model_and_another_seed_another()
    {
        var values = Samples();
        var a = NewTracker(1);
        var b = NewTracker(1);
        var c = NewTracker(2);
        foreach (var tracker in new[] { a, b, c })
        {
            ScoreRange(tracker, values, 0, Window + 1);
        }

        Assert.Equal(a.LearnedModel!.Fingerprint, b.LearnedModel!.Fingerprint);
        Assert.NotEqual(a.LearnedModel.Fingerprint, c.LearnedModel!.Fingerprint);
    }

    [Fact]
    public void Warm_up_state_grows_with_the_window_and_shrinks_to_the_scorer_state_after_the_switch()
    {
        var values = Samples();
        var tracker = NewTracker();
        var empty = tracker.SaveState().Length;
        ScoreRange(tracker, values, 0, Window);
        var full = tracker.SaveState().Length;
        ScoreRange(tracker, values, Window, Window + 1);
        var learned = tracker.SaveState().Length;

        // Header, last values, baselines, spreads and floors; then 4 bytes per sensor and per time for each sample.
        Assert.Equal(52 + (4 * P * 8), empty);
        Assert.Equal(empty + ((Window - 1) * (P + 1) * 4), full);
        Assert.Equal(tracker.LearnedModel!.CreateScorer().StateBytes, learned);
        Assert.True(learned < 2048, $"{learned} bytes");
    }

    [Fact]
    public void Missing_value_is_carried_from_the_last_one_while_warming_up()
    {
        var values = SensorData.Normal(200, 33);
        var withGap = (double[])values.Clone();
        withGap[(150 * P) + 3] = double.NaN;
        values[(150 * P) + 3] = values[(149 * P) + 3];
        var a = NewTracker();
        var b = NewTracker();

        Assert.Equal(ScoreRange(a, values, 0, 200), ScoreRange(b, withGap, 0, 200));
    }

    [Fact]
    public void Warm_up_over_a_minimum_span_keeps_every_kth_sample_until_the_window_spans_it()
    {
        var values = SensorData.Normal(4 * Window + 1, 35);
        // Samples one second apart, a span of four windows' worth: every fourth sample is kept.
        var tracker = MachineAnomalyTracker.WarmingUp(SensorData.Names, 7, minimumSpan: TimeSpan.FromSeconds(4 * Window));

        ScoreRange(tracker, values, 0, 100);
        Assert.Equal(25, tracker.WarmupCollected); // samples 0, 4, 8, ...
        var last = 4 * (Window - 1);
        ScoreRange(tracker, values, 100, last);
        Assert.True(tracker.IsWarmingUp);
        Assert.Equal(Window - 1, tracker.WarmupCollected);
        ScoreRange(tracker, values, last, last + 1);
        Assert.False(tracker.IsWarmingUp);
    }

    [Fact]
    public void Window_whose_second_half_departs_from_its_first_is_refused_and_a_wider_one_collected()
    {
        var values = SensorData.Normal(3 * Window, 36);
        // A drift through the second half of the first window: a model of its first half alarms on most of it.
        for (var r = Window / 2; r < Window; r++)
        {
            values[(r * P) + 3] += (r - (Window / 2)) * SensorData.StdDev(values, 3) / 10;
        }
        var tracker = NewTracker();

        ScoreRange(tracker, values, 0, Window);
        Assert.True(tracker.IsWarmingUp);
        Assert.Equal(0, tracker.WarmupCollected);
        ScoreRange(tracker, values, Window, Window + 100);
        Assert.Equal(50, tracker.WarmupCollected); // every second sample now
    }

    [Fact]
    public void Window_with_a_constant_sensor_is_dropped_and_a_fresh_one_collected()
    {
        var values = SensorData.Normal(3 * Window, 34);
        for (var r = 0; r < Window; r++)
        {
            values[(r * P) + 6] = 1.5; // idle during the first window only
        }
        var tracker = NewTracker();

        ScoreRange(tracker, values, 0, Window);
        Assert.True(tracker.IsWarmingUp);
        Assert.Equal(0, tracker.WarmupCollected);
        ScoreRange(tracker, values, Window, 2 * Window);
        Assert.False(tracker.IsWarmingUp);
    }

    [Fact]
    public void States_restore_only_into_a_tracker_built_the_same_way()
    {
        var values = Samples();
        var warming = NewTracker();
        ScoreRange(warming, values, 0, 100);
        var warmState = warming.SaveState();
        var switched = NewTracker();
        ScoreRange(switched, values, 0, Window + 10);
        var learnedState = switched.SaveState();

        Assert.False(MachineAnomalyTracker.ForModel(switched.LearnedModel!).TryRestoreState(warmState, out var error));
        Assert.Equal("the state was saved while warming up: restore it into a tracker made by WarmingUp", error);
        Assert.False(NewTracker().TryRestoreState(learnedState, out error));
        Assert.Equal("the state was saved after warm-up: restore it into ForModel with the model learned in warm-up",
            error);
        Assert.False(NewTracker(seed: 8).TryRestoreState(warmState, out error));
        Assert.Equal("the warm-up state was saved with other sensors, seed, options or warm-up length", error);
        Assert.False(NewTracker().TryRestoreState(warmState.AsSpan(0, warmState.Length - 4), out error));
        Assert.Equal("the warm-up state is damaged: its counts do not match its size", error);
    }
}
