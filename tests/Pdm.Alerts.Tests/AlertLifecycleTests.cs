using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using static Pdm.Alerts.Tests.Build;

namespace Pdm.Alerts.Tests;

public class AlertLifecycleTests
{
    private readonly AlertLifecycle _lifecycle = new(new AlertPolicy
    {
        QuietPeriod = TimeSpan.FromMinutes(15), ConditionQuietPeriod = TimeSpan.FromMinutes(15), FlappingWindow = TimeSpan.FromHours(1),
        MaxReopenings = 2,
    });

    private static RuleTrigger Trigger(TriggerKind kind, int minute, AlertSeverity severity = AlertSeverity.Medium,
        double value = 1, double? peak = null) => new()
    {
        RuleId = "vibration",
        RuleKind = "iso_zone",
        Kind = kind,
        At = At(minute * 60),
        Severity = severity,
        Value = value,
        Peak = peak ?? value,
        Worse = WorseWhen.Higher,
        Explanation = new AlertExplanation { Summary = $"{kind} at {minute}" },
    };

    private (Alert? Alert, List<AlertEvent> Events) Run(params RuleTrigger[] triggers)
    {
        Alert? alert = null;
        var events = new List<AlertEvent>();
        foreach (var t in triggers)
        {
            var change = _lifecycle.Apply(alert, RuleSubject.Machine, "m1", t);
            alert = change.Alert;
            events.AddRange(change.Events);
        }
        return (alert, events);
    }

    private static string Types(IEnumerable<AlertEvent> events) =>
        string.Join(" ", events.Select(e => e.Type.ToString().ToLowerInvariant() + (e.Notifies ? "!" : "")));

    [Fact]
    public void Condition_alerts_wait_for_the_condition_quiet_period_other_alerts_for_the_short_one()
    {
        var lifecycle = new AlertLifecycle(new AlertPolicy());
        Alert Cleared(string ruleKind)
        {
            var fired = lifecycle.Apply(null, RuleSubject.Machine, "m1", Trigger(TriggerKind.Fired, 0) with { RuleKind = ruleKind }).Alert;
            return lifecycle.Apply(fired, RuleSubject.Machine, "m1", Trigger(TriggerKind.Cleared, 1) with { RuleKind = ruleKind }).Alert!;
        }

        foreach (var condition in new[] { "iso_zone", "anomaly_score" })
        {
            var alert = Cleared(condition);
            Assert.Equal(TimeSpan.FromHours(6), lifecycle.Policy.QuietPeriodOf(alert));
            Assert.Equal(AlertStatus.Open, lifecycle.Tick(alert, At(60 + (5 * 3600))).Alert!.Status);
            Assert.Equal(AlertStatus.Resolved, lifecycle.Tick(alert, At(60 + (6 * 3600))).Alert!.Status);
        }
        var silent = Cleared("machine_silent");
        Assert.Equal(AlertStatus.Resolved, lifecycle.Tick(silent, At(60 + (15 * 60))).Alert!.Status);
    }

    [Fact]
    public void A_repeat_updates_the_open_alert_and_a_higher_severity_escalates_it_never_down()
    {
        var (alert, events) = Run(
            Trigger(TriggerKind.Fired, 0, value: 5),
            Trigger(TriggerKind.Cleared, 2, peak: 6),
            Trigger(TriggerKind.Fired, 5, value: 5.5),
            Trigger(TriggerKind.Escalated, 6, AlertSeverity.Critical, value: 8),
            Trigger(TriggerKind.Cleared, 8, AlertSeverity.Critical, value: 4, peak: 8),
            Trigger(TriggerKind.Fired, 10, AlertSeverity.Medium, value: 5));

        Assert.Equal("opened! updated updated escalated! updated updated", Types(events));
        Assert.Single(events.Select(e => e.Alert.Id).Distinct());
        Assert.Equal((AlertStatus.Open, AlertSeverity.Critical, 3, 8.0, At(600)),
            (alert!.Status, alert.Severity, alert.Count, alert.Peak, alert.LastSeenAt));
        Assert.Equal(AlertSeverity.Medium, events.Single(e => e.Type == AlertEventType.Escalated).PreviousSeverity);
    }

    [Fact]
    public void Acknowledged_alert_resolves_itself_after_the_quiet_period_once_the_rule_cleared()
    {
        var (alert, _) = Run(Trigger(TriggerKind.Fired, 0));
        var ack = _lifecycle.Acknowledge(alert!, "ana", At(60), "on my way");
        var cleared = _lifecycle.Apply(ack.Alert, RuleSubject.Machine, "m1", Trigger(TriggerKind.Cleared, 5));

        var early = _lifecycle.Tick(cleared.Alert!, At(5 * 60 + 899));
        var due = _lifecycle.Tick(cleared.Alert!, At(40 * 60));

        Assert.Equal((AlertStatus.Acknowledged, "ana", "on my way"), (ack.Alert!.Status, ack.Alert.Acknowledged!.By, ack.Alert.Acknowledged.Comment));
        Assert.Empty(early.Events);
        var resolved = Assert.Single(due.Events);
        Assert.Equal((AlertEventType.Resolved, At(20 * 60), AlertLifecycle.System, true),
            (resolved.Type, resolved.At, resolved.By, resolved.Notifies));
        Assert.Equal(AlertStatus.Resolved, due.Alert!.Status);
    }

    [Fact]
    public void Operator_resolves_and_comments_with_who_and_why_and_bad_actions_are_refused()
    {
        var (alert, _) = Run(Trigger(TriggerKind.Fired, 0));

        var comment = _lifecycle.Comment(alert!, "ana", At(30), "bearing noise confirmed");
        var resolved = _lifecycle.Resolve(alert!, "ben", At(90), "bearing replaced");

        Assert.Equal((AlertEventType.Commented, false), (comment.Events.Single().Type, comment.Events.Single().Notifies));
        Assert.Equal(("ben", "bearing replaced"), (resolved.Alert!.Resolved!.By, resolved.Alert.Resolved.Comment));
        Assert.Equal("the alert is already resolved", _lifecycle.Resolve(resolved.Alert, "ben", At(95), null).Rejected);
        Assert.Equal("the alert is resolved: only an open alert can be acknowledged",
            _lifecycle.Acknowledge(resolved.Alert, "ana", At(95), null).Rejected);
        Assert.Equal("by: name who does it", _lifecycle.Acknowledge(alert!, " ", At(95), null).Rejected);
        Assert.Equal("comment: must not be empty", _lifecycle.Comment(alert!, "ana", At(95), "").Rejected);
        // Cleared after the operator resolved it: nothing changes.
        Assert.Empty(_lifecycle.Apply(resolved.Alert, RuleSubject.Machine, "m1", Trigger(TriggerKind.Cleared, 3)).Events);
    }

    [Fact]
    public void A_rule_firing_again_soon_after_resolution_reopens_the_alert_and_later_opens_a_new_one()
    {
        var (soon, soonEvents) = Run(Trigger(TriggerKind.Fired, 0), Trigger(TriggerKind.Cleared, 1), Trigger(TriggerKind.Fired, 30));
        var (late, lateEvents) = Run(Trigger(TriggerKind.Fired, 0), Trigger(TriggerKind.Cleared, 1), Trigger(TriggerKind.Fired, 200));

        Assert.Equal("opened! updated resolved! reopened!", Types(soonEvents));
        Assert.Equal((AlertStatus.Open, 2), (soon!.Status, soon.Count));
        Assert.Single(soonEvents.Select(e => e.Alert.Id).Distinct());
        Assert.Equal("opened! updated resolved! opened!", Types(lateEvents));
        Assert.Equal(2, lateEvents.Select(e => e.Alert.Id).Distinct().Count());
        Assert.Equal(1, late!.Count);
    }

    [Fact]
    public void A_flapping_alert_stays_open_instead_of_notifying_at_every_bounce()
    {
        // The rule bounces: fires for a minute, clears for 16 (past the quiet period), again and again.
        var triggers = Enumerable.Range(0, 8).SelectMany(i => new[]
        {
            Trigger(TriggerKind.Fired, i * 17), Trigger(TriggerKind.Cleared, (i * 17) + 1),
        }).ToArray();

        var (alert, events) = Run(triggers);

        // Opened, then reopened twice (allowed), the third reopening marks it flapping: from then on it stays open.
        Assert.Equal(1, events.Count(e => e.Type == AlertEventType.Opened));
        Assert.Equal(3, events.Count(e => e.Type == AlertEventType.Reopened));
        Assert.Equal(3, events.Count(e => e.Type == AlertEventType.Resolved));
        Assert.True(alert!.Flapping);
        Assert.Equal(AlertStatus.Open, alert.Status);
        // Seven notifications for eight bounces, and none after it was marked flapping (at the fourth firing).
        Assert.Equal("opened! resolved! reopened! resolved! reopened! resolved! reopened!",
            Types(events.Where(e => e.Type != AlertEventType.Updated)));
        // Quiet for the whole flapping window, it resolves.
        var quiet = _lifecycle.Tick(alert, alert.ClearedAt!.Value + TimeSpan.FromHours(1));
        Assert.Equal(AlertStatus.Resolved, quiet.Alert!.Status);
    }

    private static FiringRule Firing(RuleTrigger trigger, int minute) => new()
    {
        RuleId = trigger.RuleId, RuleKind = trigger.RuleKind, Since = trigger.At, LastSeen = At(minute * 60), Severity = trigger.Severity,
        Value = trigger.Value, Peak = trigger.Peak, Worse = trigger.Worse, Explanation = trigger.Explanation,
    };

    private IReadOnlyList<AlertEvent> Evaluate(Dictionary<string, Alert> alerts, IReadOnlyList<RuleTrigger> triggers,
        params FiringRule[] firing) =>
        _lifecycle.Apply(alerts, RuleSubject.Machine, "m1", new AlertEvaluation(triggers, firing, new AlertEvaluationState()));

    [Fact]
    public void A_second_condition_rule_on_a_machine_with_an_open_condition_alert_escalates_it_instead_of_opening_another()
    {
        var alerts = new Dictionary<string, Alert>(StringComparer.Ordinal);
        var anomaly = Trigger(TriggerKind.Fired, 0, value: 2.5) with { RuleId = "anomaly", RuleKind = "anomaly_score" };
        var zoneC = Trigger(TriggerKind.Fired, 30, AlertSeverity.High, value: 4.8);
        var events = Evaluate(alerts, [anomaly]).Concat(Evaluate(alerts, [zoneC], Firing(anomaly, 30), Firing(zoneC, 30))).ToList();

        Assert.Equal("opened! escalated!", Types(events));
        Assert.Equal(["anomaly"], alerts.Keys);
        var alert = alerts["anomaly"];
        Assert.Equal((AlertSeverity.High, 2, 2.5), (alert.Severity, alert.Count, alert.Value));
        // The escalation says why: the zone rule's explanation, on the anomaly alert (value and peak stay the score's).
        Assert.Equal((AlertSeverity.Medium, "Fired at 30", alert.Id), (events[1].PreviousSeverity, events[1].Explanation.Summary, events[1].Alert.Id));

        // The anomaly rule clears but the zone is still C: the problem is still there, so the alert does not resolve.
        Evaluate(alerts, [anomaly with { Kind = TriggerKind.Cleared, At = At(40 * 60) }], Firing(zoneC, 40));
        Assert.Empty(Evaluate(alerts, [], Firing(zoneC, 60)));
        Assert.Empty(_lifecycle.Tick(alerts, At(70 * 60)));
        Assert.Equal((AlertStatus.Open, At(60 * 60), At(60 * 60)), (alerts["anomaly"].Status, alerts["anomaly"].ClearedAt, alerts["anomaly"].LastSeenAt));
        // The zone clears: its quiet period resolves the one alert, and the zone firing later is a new problem.
        Evaluate(alerts, [zoneC with { Kind = TriggerKind.Cleared, At = At(61 * 60) }]);
        Assert.Equal("resolved!", Types(_lifecycle.Tick(alerts, At(76 * 60))));
        Assert.Equal("opened!", Types(Evaluate(alerts, [zoneC with { At = At(200 * 60) }])));
        Assert.Equal(["anomaly", "vibration"], alerts.Keys.Order());
    }

    [Fact]
    public void Other_rules_still_open_their_own_alerts_beside_a_condition_alert()
    {
        var alerts = new Dictionary<string, Alert>(StringComparer.Ordinal);
        var anomaly = Trigger(TriggerKind.Fired, 0) with { RuleId = "anomaly", RuleKind = "anomaly_score" };
        var silent = Trigger(TriggerKind.Fired, 5) with { RuleId = "silent", RuleKind = "machine_silent" };
        var stuck = Trigger(TriggerKind.Fired, 6, AlertSeverity.Low) with { RuleId = "stuck-sensor", RuleKind = "stuck_sensor" };

        var events = Evaluate(alerts, [anomaly, silent, stuck]);

        Assert.Equal("opened! opened! opened!", Types(events));
        Assert.Equal(["anomaly", "silent", "stuck-sensor"], alerts.Keys.Order());
        Assert.Equal(3, events.Select(e => e.Alert.Id).Distinct().Count());
    }

    [Fact]
    public void Events_carry_the_explanation_and_serialize_with_their_id_and_type()
    {
        var (_, events) = Run(Trigger(TriggerKind.Fired, 0));

        var json = System.Text.Json.JsonSerializer.Serialize(events[0], AlertsJson.Default.AlertEvent);

        Assert.Equal(7, events[0].Id.Version);
        Assert.Contains("\"type\":\"alert.opened\"", json);
        Assert.Contains("\"severity\":\"MEDIUM\"", json);
        Assert.Contains("\"summary\":\"Fired at 0\"", json);
        Assert.Contains("\"status\":\"open\"", json);
    }
}
