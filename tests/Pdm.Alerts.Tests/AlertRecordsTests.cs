using System.Text.Json;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Webhooks;
using static Pdm.Alerts.Tests.Build;

namespace Pdm.Alerts.Tests;

public class AlertRecordsTests
{
    private static readonly Guid Tenant = Guid.Parse("6f1c3a52-0d7e-4b7a-9a55-0c4e1f2b3d4e");
    private readonly AlertLifecycle _lifecycle = new(new AlertPolicy());

    private AlertChange Opened() => _lifecycle.Apply(null, RuleSubject.Machine, "press-7", new RuleTrigger
    {
        RuleId = "vibration",
        RuleKind = "iso_zone",
        Kind = TriggerKind.Fired,
        At = At(60),
        Severity = AlertSeverity.High,
        Value = 7.4,
        Peak = 7.4,
        Worse = WorseWhen.Higher,
        Explanation = new AlertExplanation { Summary = "zone C on vibration_rms", Sensors = ["vibration_rms"] },
    });

    [Fact]
    public void An_alert_survives_the_row_round_trip_field_for_field()
    {
        var opened = Opened().Alert!;
        var acknowledged = _lifecycle.Acknowledge(opened, "ana", At(120), "on my way").Alert!;

        var row = AlertRecords.ToRow(acknowledged);
        var back = AlertRecords.ToAlert(row);

        Assert.Equal(("HIGH", "acknowledged", AlertSubjectKind.Machine, "press-7"), (row.Severity, row.Status, row.Subject.Kind, row.Subject.Id));
        Assert.Equal(JsonSerializer.Serialize(acknowledged, AlertsJson.Default.Alert), JsonSerializer.Serialize(back, AlertsJson.Default.Alert));
    }

    [Fact]
    public void Notifying_events_go_to_the_outbox_as_the_webhook_body_and_every_event_is_stored()
    {
        var opened = Opened();
        var commented = _lifecycle.Comment(opened.Alert!, "ana", At(90), "bearing noise");

        var write = AlertRecords.ToWrite(Tenant, [commented.Alert!], [.. opened.Events, .. commented.Events]);

        Assert.Equal(["alert.opened", "alert.commented"], write.Events.Select(e => e.Type));
        var outbox = Assert.Single(write.Outbox);
        var body = WebhookEvent.Deserialize(outbox.PayloadJson);
        Assert.Equal((AlertRecords.WebhookId(outbox.EventId), "alert.opened", Tenant.ToString("D")), (body.Id, body.Type, body.Tenant));
        var alert = body.Data.GetProperty("alert");
        Assert.Equal(("HIGH", "Machine", "press-7"), (alert.GetProperty("severity").GetString(),
            alert.GetProperty("subject").GetString(), alert.GetProperty("subjectId").GetString()));
    }

    [Fact]
    public void A_refused_operator_action_writes_nothing_and_says_why()
    {
        var row = AlertRecords.ToRow(Opened().Alert!);

        var (write, refused) = AlertRecords.Change(Tenant, row, a => _lifecycle.Comment(a, "ana", At(90), " "));

        Assert.Same(AlertWrite.Nothing, write);
        Assert.Equal("comment: must not be empty", refused);
    }
}
