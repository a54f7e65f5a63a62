using System.Text;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Rules;
using static Pdm.Alerts.Tests.Build;

namespace Pdm.Alerts.Tests;

public class AlertEvaluatorTests
{
    private static readonly AlertRule Anomaly = Rule("""
        {"id":"anomaly","kind":"anomaly_score","severity":"MEDIUM","window":{"n":3,"m":5,"clearAt":1},
         "escalate":{"n":5,"severity":"HIGH"}}
        """);

    /// <summary>Samples whose anomaly scores are 0.9 where the pattern has '1', 0.1 where it has '0'.</summary>
    private static List<ScoredSample> Pattern(string pattern, int start = 0) =>
        [.. pattern.Select((c, i) => Sample(start + i, c == '1' ? 0.9 : 0.1))];

    private static AlertEvaluation Samples(AlertRule rule, IEnumerable<ScoredSample> samples, AlertEvaluationState? state = null) =>
        AlertEvaluator.EvaluateSamples([rule], state, samples);

    [Fact]
    public void Anomaly_fires_at_n_of_m_and_not_at_n_minus_one()
    {
        Assert.Empty(Samples(Anomaly, Pattern("11000110001100")).Triggers);

        var fired = Samples(Anomaly, Pattern("1010100"));

        var trigger = Assert.Single(fired.Triggers);
        Assert.Equal((TriggerKind.Fired, At(4), AlertSeverity.Medium), (trigger.Kind, trigger.At, trigger.Severity));
        Assert.Equal(0.9, trigger.Value);
        Assert.Contains("3 of the last 5 samples scored above the threshold 0.5", trigger.Explanation.Summary);
        Assert.Equal(["vibration", "temperature"], trigger.Explanation.Sensors);
        Assert.Equal(0.45, trigger.Explanation.Score!.IsolationForest);
    }

    [Fact]
    public void Anomaly_clears_only_at_clear_at_and_escalates_at_a_full_window()
    {
        // Fires at 3 of 5; holds through 2 of 5; clears at 1 of 5 (index 10).
        var result = Samples(Anomaly, Pattern("11100110000"));

        Assert.Equal([(TriggerKind.Fired, At(2), AlertSeverity.Medium), (TriggerKind.Cleared, At(10), AlertSeverity.Medium)],
            Transitions(result));
        Assert.Equal([(TriggerKind.Fired, At(2), AlertSeverity.Medium), (TriggerKind.Escalated, At(4), AlertSeverity.High)],
            Transitions(Samples(Anomaly, Pattern("11111"))));
    }

    [Fact]
    public void Threshold_factor_raises_the_bar()
    {
        var strict = Rule("""{"id":"a","kind":"anomaly_score","severity":"LOW","window":{"n":1,"m":1},"thresholdFactor":2}""");

        Assert.Empty(Samples(strict, Pattern("1111")).Triggers);
    }

    [Fact]
    public void Samples_split_over_batches_give_the_same_transitions_and_state_as_one_batch()
    {
        var rules = DefaultRules.Create().ResolveForMachine("m1", null).Rules;
        var random = new Random(7);
        var samples = Enumerable.Range(0, 400).Select(i => Sample(i * 30,
            score: random.NextDouble() < (i is > 100 and < 200 ? 0.9 : 0.05) ? 0.9 : 0.1,
            zone: i is > 150 and < 230 ? (i > 190 ? "D" : "C") : "B",
            ("vibration", i is > 150 and < 230 ? 6.0 : 1.5), ("temperature", i is > 300 and < 350 ? 61.0 : 60 + (i % 5)),
            ("load", 50 + (i % 3)))).ToList();
        // Dropped sensor: load goes missing for a while.
        for (var i = 250; i < 330; i++)
        {
            samples[i] = samples[i] with { Sample = samples[i].Sample with { Values = [.. samples[i].Sample.Values.Where(v => v.Sensor != "load")] } };
        }

        var whole = AlertEvaluator.EvaluateSamples(rules, null, samples);
        var state = (AlertEvaluationState?)null;
        var split = new List<RuleTrigger>();
        foreach (var chunk in samples.Chunk(37))
        {
            // Each batch arrives shuffled, and the state goes through its stored bytes between batches.
            var result = AlertEvaluator.EvaluateSamples(rules, state, chunk.OrderBy(_ => random.Next()).ToList());
            split.AddRange(result.Triggers);
            state = AlertEvaluationState.Read(result.State.ToBytes(), out var problem);
            Assert.Null(problem);
        }

        Assert.True(whole.Triggers.Count >= 6, $"{whole.Triggers.Count} triggers");
        Assert.Equal(["anomaly", "dropped-sensor", "stuck-sensor", "vibration"],
            whole.Triggers.Select(t => t.RuleId).Distinct().Order());
        Assert.Equal(whole.Triggers.Select(Text), split.Select(Text));
        Assert.Equal(Encoding.UTF8.GetString(whole.State.ToBytes()), Encoding.UTF8.GetString(state!.ToBytes()));
        Assert.True(whole.State.ToBytes().Length < 2048, $"{whole.State.ToBytes().Length} bytes of state");
    }

    private static string Text(RuleTrigger t) => $"{t.RuleId} {t.Kind} {t.At:O} {t.Severity} {t.Value} {t.Peak} {t.Explanation.Summary}";

    [Fact]
    public void Replayed_samples_are_not_evaluated_twice()
    {
        var first = Samples(Anomaly, Pattern("111"));
        var replay = Samples(Anomaly, Pattern("111"), first.State);

        Assert.Single(first.Triggers);
        Assert.Empty(replay.Triggers);
        Assert.Equal(first.State.ToBytes(), replay.State.ToBytes());
    }

    [Fact]
    public void Iso_zone_fires_on_c_escalates_on_d_and_clears_after_clear_samples_below()
    {
        var rule = Rule("""
            {"id":"vibration","kind":"iso_zone","severity":"HIGH","clearSamples":3,"escalate":{"zone":"D","severity":"CRITICAL"}}
            """);
        string[] zones = ["B", "C", "B", "C", "D", "B", "B", "C", "B", "B", "B", "A"];
        var samples = zones.Select((z, i) => Sample(i, 0.1, z, ("vibration_x", 2.0 + i), ("vibration_y", 1.0))).ToList();

        var result = Samples(rule, samples);

        Assert.Equal(
        [
            (TriggerKind.Fired, At(1), AlertSeverity.High),
            (TriggerKind.Escalated, At(4), AlertSeverity.Critical),
            (TriggerKind.Cleared, At(10), AlertSeverity.Critical),
        ], Transitions(result));
        Assert.Equal("vibration_x 6.00 mm/s: ISO 10816 zone D", result.Triggers[1].Explanation.Summary);
        Assert.Equal(["vibration_x"], result.Triggers[1].Explanation.Sensors);
        Assert.Equal(9.0, result.Triggers[2].Peak);
    }

    [Fact]
    public void Iso_zone_with_a_window_ignores_a_spike_and_fires_on_a_steady_level()
    {
        var rule = Rule("""
            {"id":"vibration","kind":"iso_zone","severity":"HIGH","window":{"n":3,"m":4},"clearSamples":2}
            """);
        string[] zones = ["B", "D", "B", "B", "C", "C", "B", "C", "B", "B"];
        var samples = zones.Select((z, i) => Sample(i, 0.1, z, ("vibration_x", 2.0 + i))).ToList();

        var result = Samples(rule, samples);

        // The spike at 1 is one of four; 4, 5 and 7 are three of the last four, so the rule fires at 7 (in zone C).
        Assert.Equal(
        [
            (TriggerKind.Fired, At(7), AlertSeverity.High),
            (TriggerKind.Cleared, At(9), AlertSeverity.High),
        ], Transitions(result));
    }

    [Fact]
    public void Sensor_limits_clear_only_inside_the_band()
    {
        var rule = Rule("""
            {"id":"bearing","kind":"sensor_limits","severity":"MEDIUM","sensor":"bearing_temperature","high":80,
             "clearBand":5,"escalate":{"high":90,"severity":"HIGH"}}
            """);
        double[] values = [70, 81, 78, 76, 92, 79, 74, 81];
        var samples = values.Select((v, i) => Sample(i, 0.1, "A", ("bearing_temperature", v))).ToList();

        var result = Samples(rule, samples);

        Assert.Equal(
        [
            (TriggerKind.Fired, At(1), AlertSeverity.Medium),
            (TriggerKind.Escalated, At(4), AlertSeverity.High),
            (TriggerKind.Cleared, At(6), AlertSeverity.High),
            (TriggerKind.Fired, At(7), AlertSeverity.Medium),
        ], Transitions(result));
        Assert.Equal(92, result.Triggers[2].Peak);
    }

    [Fact]
    public void Sensor_below_its_low_limit_has_lower_is_worse()
    {
        var rule = Rule("""{"id":"p","kind":"sensor_limits","severity":"LOW","sensor":"pressure","low":2,"high":9,"clearBand":0.5}""");

        var result = Samples(rule, [.. new[] { 3, 1.5, 1.0, 2.2, 2.6 }.Select((v, i) => Sample(i, 0.1, "A", ("pressure", v)))]);

        Assert.Equal([TriggerKind.Fired, TriggerKind.Cleared], result.Triggers.Select(t => t.Kind));
        Assert.Equal((WorseWhen.Lower, 1.0, At(4)), (result.Triggers[1].Worse, result.Triggers[1].Peak, result.Triggers[1].At));
    }

    [Fact]
    public void Stuck_sensor_needs_both_the_count_and_the_duration()
    {
        var rule = Rule("""{"id":"stuck","kind":"stuck_sensor","severity":"LOW","samples":5,"minutes":2,"ignore":["load"]}""");
        // One sample every 10 s: 5 samples are reached at 40 s, 2 minutes only at 120 s.
        var samples = Enumerable.Range(0, 20).Select(i => Sample(i * 10, 0.1, "A",
            ("temperature", i < 16 ? 60.0 : 61 + i), ("load", 50.0))).ToList();

        var result = Samples(rule, samples);

        Assert.Equal([(TriggerKind.Fired, At(120), AlertSeverity.Low), (TriggerKind.Cleared, At(160), AlertSeverity.Low)],
            Transitions(result));
        Assert.Equal(["temperature"], result.Triggers[0].Explanation.Sensors);
    }

    [Fact]
    public void Dropped_sensor_fires_for_a_sensor_the_machine_used_to_send()
    {
        var rule = Rule("""{"id":"dropped","kind":"dropped_sensor","severity":"LOW","samples":3}""");
        var samples = Enumerable.Range(0, 10).Select(i => i is >= 2 and < 7
            ? Sample(i, 0.1, "A", ("temperature", 60))
            : Sample(i, 0.1, "A", ("temperature", 60), ("pressure", 4))).ToList();

        var result = Samples(rule, samples);

        Assert.Equal([(TriggerKind.Fired, At(4), AlertSeverity.Low), (TriggerKind.Cleared, At(7), AlertSeverity.Low)],
            Transitions(result));
        Assert.Equal(["pressure"], result.Triggers[0].Explanation.Sensors);
    }

    [Fact]
    public void Silence_fires_on_the_tick_not_while_the_device_is_offline_and_clears_with_a_sample()
    {
        var rule = Rule("""{"id":"silent","kind":"machine_silent","severity":"MEDIUM","afterMinutes":10}""");
        var state = Samples(rule, [Sample(0)]).State;

        Assert.Empty(AlertEvaluator.EvaluateMachineTick([rule], state, At(540), deviceOffline: false).Triggers);
        Assert.Empty(AlertEvaluator.EvaluateMachineTick([rule], state, At(900), deviceOffline: true).Triggers);
        var silent = AlertEvaluator.EvaluateMachineTick([rule], state, At(900), deviceOffline: false);
        var back = Samples(rule, [Sample(1000)], silent.State);

        Assert.Equal((TriggerKind.Fired, 15.0), (silent.Triggers.Single().Kind, silent.Triggers.Single().Value));
        Assert.Equal((TriggerKind.Cleared, At(1000)), (back.Triggers.Single().Kind, back.Triggers.Single().At));
    }

    [Fact]
    public void Device_offline_fires_after_its_minutes_and_clears_on_a_message()
    {
        var rule = Rule("""{"id":"offline","kind":"device_offline","severity":"HIGH","afterMinutes":10}""");

        var online = AlertEvaluator.EvaluateDeviceTick([rule], null, At(300), lastMessage: At(0));
        var offline = AlertEvaluator.EvaluateDeviceTick([rule], online.State, At(660), lastMessage: null);
        var back = AlertEvaluator.EvaluateDeviceMessages([rule], offline.State, [new MessageCounts(At(700), 1, 0)]);

        Assert.Empty(online.Triggers);
        Assert.Equal(TriggerKind.Fired, offline.Triggers.Single().Kind);
        Assert.Equal(TriggerKind.Cleared, back.Triggers.Single().Kind);
    }

    [Fact]
    public void Rejected_messages_fire_above_the_share_with_enough_rejects_and_clear_as_the_window_moves()
    {
        var rule = Rule("""{"id":"rejected","kind":"rejected_messages","severity":"LOW","windowMinutes":5,"maxShare":0.1,"minRejected":3}""");

        var few = AlertEvaluator.EvaluateDeviceMessages([rule], null, [new MessageCounts(At(0), 5, 2)]);
        var many = AlertEvaluator.EvaluateDeviceMessages([rule], few.State, [new MessageCounts(At(60), 20, 2)]);
        var later = AlertEvaluator.EvaluateDeviceTick([rule], many.State, At(60 * 7), At(60 * 7));

        Assert.Empty(few.Triggers);
        Assert.Equal((TriggerKind.Fired, 4.0 / 29), (many.Triggers.Single().Kind, many.Triggers.Single().Value));
        Assert.Equal(TriggerKind.Cleared, later.Triggers.Single().Kind);
    }

    [Fact]
    public void Prediction_rules_fire_escalate_and_clear_with_hysteresis()
    {
        var rules = DefaultRules.Create().ResolveForMachine("m1", null).Rules
            .Where(r => r.Kind is "health_state" or "failure_probability").ToList();
        var rul = Rule("""{"id":"rul","kind":"rul_below","severity":"MEDIUM","hours":24,"estimate":"p10","escalate":{"hours":6,"severity":"HIGH"}}""");
        rules.Add(rul);
        (string Health, double P24, double P10)[] steps =
        [
            ("HEALTHY", 0.2, 60), ("WARNING", 0.85, 20), ("FAULTY", 0.7, 25), ("BROKEN", 0.97, 5),
            ("UNKNOWN", 0.65, 29), ("HEALTHY", 0.5, 31),
        ];
        var state = (AlertEvaluationState?)null;
        var triggers = new List<RuleTrigger>();
        for (var i = 0; i < steps.Length; i++)
        {
            var result = AlertEvaluator.EvaluatePrediction(rules, state,
                Prediction(steps[i].Health, steps[i].P24, rulHours: steps[i].P10 * 1.5, rulP10Hours: steps[i].P10), At(i * 60));
            triggers.AddRange(result.Triggers);
            state = result.State;
        }

        Assert.Equal(
        [
            "failure-24h Fired 60 HIGH", "rul Fired 60 MEDIUM",
            "health Fired 120 HIGH",
            "health Escalated 180 CRITICAL", "failure-24h Escalated 180 CRITICAL", "rul Escalated 180 HIGH",
            "health Cleared 300 CRITICAL", "failure-24h Cleared 300 CRITICAL", "rul Cleared 300 HIGH",
        ], triggers.Select(t => $"{t.RuleId} {t.Kind} {(t.At - T0).TotalSeconds} {t.Severity.ToString().ToUpperInvariant()}"));
        Assert.Equal(0.97, triggers.Single(t => t.RuleId == "failure-24h" && t.Kind == TriggerKind.Cleared).Peak);
        Assert.Equal(5, triggers.Single(t => t.RuleId == "rul" && t.Kind == TriggerKind.Cleared).Peak);
        Assert.Equal("BROKEN", triggers[3].Explanation.Prediction!.Health);
    }

    [Fact]
    public void A_rule_removed_while_firing_clears()
    {
        var firing = Samples(Anomaly, Pattern("111"));

        var without = AlertEvaluator.EvaluateSamples([], firing.State, Pattern("1", start: 10));

        var cleared = without.Triggers.Single();
        Assert.Equal(("anomaly", "anomaly_score", TriggerKind.Cleared), (cleared.RuleId, cleared.RuleKind, cleared.Kind));
        Assert.Empty(without.State.Rules);
    }

    [Fact]
    public void A_state_of_another_version_or_unreadable_starts_afresh_and_says_why()
    {
        Assert.Empty(AlertEvaluationState.Read("""{"v":1}"""u8, out var none).Rules);
        Assert.Null(none);
        AlertEvaluationState.Read("""{"v":99}"""u8, out var version);
        AlertEvaluationState.Read("not json"u8, out var garbage);

        Assert.Equal("state version 99, expected 1", version);
        Assert.StartsWith("unreadable state", garbage);
    }
}
