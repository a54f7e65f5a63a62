using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Simulator;
using Pdm.Simulator.Twin;
using Pdm.Telemetry;

namespace Pdm.Alerts.Tests;

/// <summary>
/// The digital twin end to end: a pump wears out, breaks and is replaced (accelerated, one sample a second), scored by
/// the anomaly ensemble as ingest scores it (a fleet model fitted on other pumps' healthy lives, the machine's
/// <see cref="MachineAnomalyTracker"/>), evaluated in ingest-sized batches with the default rules, and run through the
/// alert lifecycle.
/// </summary>
public class TwinAlertTests
{
    private static readonly string[] Sensors = [.. MachineProfile.SensorsOf(MachineKind.CentrifugalPump).Select(s => s.Sensor)];
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static AnomalyModel FleetModel()
    {
        var options = new RunToFailureOptions
        {
            Machines = 6, Kinds = [MachineKind.CentrifugalPump], Twin = new TwinOptions { Mode = TwinMode.Accelerated },
            Interval = TimeSpan.FromSeconds(1), Seed = 11,
        };
        var healthy = Enumerable.Range(1, 6).SelectMany(m => RunToFailureExporter.Run(options, m)
            .Where(s => s.Truth.State == MachineState.Healthy)).ToList();
        var table = new SensorTable(Sensors, [.. healthy.Select(s => s.Truth.Elapsed.TotalSeconds)],
            [.. healthy.SelectMany(s => Sensors.Select(n => s.Values.First(v => v.Sensor == n).Value))]);
        return AnomalyModel.Fit(table, seed: 5).Model!;
    }

    private static ScoreSnapshot Row(MachineSample sample, MachineAnomalyTracker tracker)
    {
        var values = Sensors.Select(n => sample.Values.FirstOrDefault(v => v.Sensor == n) is { Sensor: not null } v ? v.Value : double.NaN).ToArray();
        var score = tracker.Score(values, sample.Timestamp.ToUnixTimeMilliseconds() / 1000.0);
        var contributions = tracker.Contributions.ToArray();
        var top = Enumerable.Range(0, contributions.Length).Where(i => contributions[i] > 0)
            .OrderByDescending(i => contributions[i]).Take(3).ToList(); // as many as ingest stores
        return new ScoreSnapshot
        {
            At = sample.Timestamp,
            Score = score.Score, Threshold = score.Threshold,
            IsolationForest = score.IsolationForest, Statistical = score.Statistical, Temporal = score.Temporal,
            IsoZone = score.Zone == VibrationZone.None ? null : score.Zone, Model = "fleet",
            TopSensors = [.. top.Select(i => new SensorShare(Sensors[i], contributions[i]))],
        };
    }

    [Fact]
    public void Degrading_pump_raises_one_alert_per_problem_which_escalates_and_resolves_after_the_replacement()
    {
        var profile = FleetDefinition.Pump(1);
        var pump = new MaintainedMachine(profile, seed: 4242, new TwinOptions { Mode = TwinMode.Accelerated },
            repairTime: TimeSpan.FromSeconds(30));
        var tracker = MachineAnomalyTracker.ForModel(FleetModel());
        var rules = DefaultRules.Create().ResolveForMachine(profile.MachineId, "CentrifugalPump").Rules;
        var lifecycle = new AlertLifecycle(new AlertPolicy
        {
            QuietPeriod = TimeSpan.FromMinutes(2), ConditionQuietPeriod = TimeSpan.FromMinutes(2), FlappingWindow = TimeSpan.FromMinutes(10),
        });
        var alerts = new Dictionary<string, Alert>(StringComparer.Ordinal);
        var events = new List<AlertEvent>();
        var state = (AlertEvaluationState?)null;
        DateTimeOffset? brokeAt = null;
        DateTimeOffset? replacedAt = null;
        var batch = new List<ScoredSample>();
        for (var second = 0; second < 4 * 3600; second++)
        {
            var now = Start.AddSeconds(second);
            var step = pump.Step(now);
            brokeAt ??= step.Truth.State == MachineState.Broken ? now : null;
            replacedAt ??= pump.Replacements == 1 ? now : null;
            var sample = new MachineSample { MachineId = profile.MachineId, Timestamp = now, Sequence = second, Values = step.Values };
            batch.Add(new ScoredSample(sample, Row(sample, tracker)));
            if (batch.Count == 10)
            {
                var evaluation = AlertEvaluator.EvaluateSamples(rules, state, batch);
                state = AlertEvaluationState.Read(evaluation.State.ToBytes(), out _);
                events.AddRange(lifecycle.Apply(alerts, RuleSubject.Machine, profile.MachineId, evaluation));
                events.AddRange(lifecycle.Tick(alerts, now));
                batch.Clear();
            }
            // Every alert resolved after the replacement: the new pump's own wear (it lives 20 accelerated minutes
            // too) is another problem.
            if (replacedAt is not null && alerts.Count > 0 && alerts.Values.All(a => a.Status == AlertStatus.Resolved))
            {
                break;
            }
        }

        Assert.NotNull(brokeAt);
        Assert.NotNull(replacedAt);
        // A worn pump shows its wear twice in its data (the ensemble's score and vibration in ISO zones C then D): one
        // problem, so one alert, opened by whichever condition rule saw it first and escalated by the other.
        var timeline = string.Join("\n", events.Select(e => $"{(e.At - Start).TotalSeconds,6} {e.Alert.RuleId} {e.Type} {e.Alert.Severity} {e.Explanation.Summary}"));
        var context = $"broke {(brokeAt - Start)!.Value.TotalSeconds}, replaced {(replacedAt - Start)!.Value.TotalSeconds}\n{timeline}";
        var opened = Assert.Single(events, e => e.Type == AlertEventType.Opened);
        Assert.True(AlertPolicy.IsCondition(opened.Alert.RuleKind), context);
        Assert.True(!events.Any(e => e.Type == AlertEventType.Reopened), context);
        Assert.Single(events.Select(e => e.Alert.Id).Distinct());
        Assert.True(opened.At < brokeAt, $"opened at {opened.At}, the pump broke at {brokeAt}");
        Assert.True(opened.Explanation.Score!.TopSensors.Count > 0 || opened.Explanation.Sensors.Count > 0, context);
        var resolved = Assert.Single(events, e => e.Type == AlertEventType.Resolved);
        Assert.True(resolved.At > replacedAt, $"resolved at {resolved.At}, replaced at {replacedAt}");
        Assert.Equal(AlertLifecycle.System, resolved.By);
        Assert.All(alerts.Values, a => Assert.Equal(AlertStatus.Resolved, a.Status));
        // Zone D is CRITICAL: the last escalation, explained by the vibration sensor that reads it.
        var critical = Assert.Single(events, e => e.Type == AlertEventType.Escalated && e.Alert.Severity == AlertSeverity.Critical);
        Assert.StartsWith("vibration_", critical.Explanation.Summary);
        Assert.Contains("zone D", critical.Explanation.Summary);
        Assert.NotNull(critical.Explanation.Score);
        Assert.True(events.Where(e => e.Type == AlertEventType.Escalated).Zip(events.Where(e => e.Type == AlertEventType.Escalated).Skip(1))
            .All(p => p.First.Alert.Severity < p.Second.Alert.Severity), context);
        // Notifications a technician gets for the problem: opened, one or two escalations (HIGH, CRITICAL), resolved.
        Assert.InRange(events.Count(e => e.Notifies), 3, 4);
    }
}
