using Microsoft.Extensions.DependencyInjection;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>Open alerts stored as the evaluation stores them: through AlertRecords, with their opened event and outbox row.</summary>
internal static class AlertSeeds
{
    public static string UniqueRuleId() => "r" + Guid.NewGuid().ToString("N")[..12];

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

/// <summary>Subscriptions stored directly (not through the API), with a secret protected as the API protects it.</summary>
internal static class SubscriptionSeeds
{
    public static async Task<WebhookSubscriptionRow> CreateAsync(ApiFactory factory, Guid tenant, string url = "https://seeded.public.test/hook")
    {
        var id = Guid.CreateVersion7();
        var protector = factory.Services.GetRequiredService<IWebhookSecretProtector>();
        return await factory.Services.GetRequiredService<SubscriptionStore>().CreateAsync(tenant, id,
            new WebhookSubscriptionSettings { Url = url }, protector.Protect(WebhookSecret.Generate(), id.ToString("D")), CancellationToken.None);
    }
}
