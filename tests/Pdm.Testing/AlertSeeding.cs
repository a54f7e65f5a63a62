using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;

namespace Pdm.Testing;

/// <summary>Open alerts stored as the evaluation stores them: through AlertRecords, with their opened event and outbox row.</summary>
public static class AlertSeeding
{
    public static async Task<Alert> OpenAsync(PdmStores stores, Guid tenant, string machineId, string ruleId,
        AlertSeverity severity = AlertSeverity.High, DateTimeOffset? at = null, RuleSubject subject = RuleSubject.Machine)
    {
        var when = at ?? DateTimeOffset.UtcNow;
        var alert = new Alert
        {
            Id = Guid.CreateVersion7(when),
            Subject = subject,
            SubjectId = machineId,
            RuleId = ruleId,
            RuleKind = "anomaly_score",
            Status = AlertStatus.Open,
            Severity = severity,
            OpenedAt = when,
            LastSeenAt = when,
            Count = 1,
            Value = 0.91,
            Peak = 0.97,
            Worse = WorseWhen.Higher,
            Firing = true,
            Explanation = new AlertExplanation { Summary = "8 of the last 10 samples were anomalous", Sensors = ["bearing_vibration"] },
        };
        var opened = new AlertEvent { Id = Guid.CreateVersion7(when), Type = AlertEventType.Opened, At = when, Notifies = true, Alert = alert };
        await stores.Alerts.EvaluateAsync(tenant, [AlertRecords.Subject(subject, machineId)],
            (t, _) => AlertRecords.ToWrite(t, [alert], [opened]), CancellationToken.None);
        return alert;
    }
}
