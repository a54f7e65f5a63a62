using System.Text.Json;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Alerts.Persistence;

/// <summary>
/// Alerts as Pdm.Storage keeps them: an <see cref="Alert"/> is an <see cref="AlertRow"/> column by column, an
/// <see cref="AlertEvent"/> is an event row and, when it notifies, an outbox row whose payload is the webhook body
/// (<see cref="WebhookEvent"/>, serialised once here and sent as is on every attempt).
/// </summary>
public static class AlertRecords
{
    public static AlertSubject Subject(RuleSubject subject, string id) =>
        new(subject == RuleSubject.Machine ? AlertSubjectKind.Machine : AlertSubjectKind.Device, id);

    public static Alert ToAlert(AlertRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Alert
        {
            Id = row.Id,
            Subject = row.Subject.Kind == AlertSubjectKind.Machine ? RuleSubject.Machine : RuleSubject.Device,
            SubjectId = row.Subject.Id,
            RuleId = row.RuleId,
            RuleKind = row.RuleKind,
            Status = Parse<AlertStatus>(row.Status),
            Severity = Parse<AlertSeverity>(row.Severity),
            OpenedAt = row.OpenedAt,
            LastSeenAt = row.LastSeenAt,
            Count = row.Count,
            Value = row.Value,
            Peak = row.Peak,
            Worse = row.LowerIsWorse ? WorseWhen.Lower : WorseWhen.Higher,
            Firing = row.Firing,
            ClearedAt = row.ClearedAt,
            Acknowledged = Action(row.AcknowledgedBy, row.AcknowledgedAt, row.AcknowledgedComment),
            Resolved = Action(row.ResolvedBy, row.ResolvedAt, row.ResolvedComment),
            Flapping = row.Flapping,
            Reopenings = row.Reopenings,
            Explanation = JsonSerializer.Deserialize(row.ExplanationJson, AlertsJson.Default.AlertExplanation)
                ?? throw new FormatException($"Alert {row.Id} has no explanation."),
        };
    }

    public static AlertRow ToRow(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new AlertRow
        {
            Id = alert.Id,
            Subject = Subject(alert.Subject, alert.SubjectId),
            RuleId = alert.RuleId,
            RuleKind = alert.RuleKind,
            Severity = Text(alert.Severity),
            Status = Text(alert.Status),
            Flapping = alert.Flapping,
            Count = alert.Count,
            OpenedAt = alert.OpenedAt,
            LastSeenAt = alert.LastSeenAt,
            Value = alert.Value,
            Peak = alert.Peak,
            LowerIsWorse = alert.Worse == WorseWhen.Lower,
            Firing = alert.Firing,
            ClearedAt = alert.ClearedAt,
            Reopenings = alert.Reopenings,
            ExplanationJson = JsonSerializer.Serialize(alert.Explanation, AlertsJson.Default.AlertExplanation),
            AcknowledgedBy = alert.Acknowledged?.By,
            AcknowledgedAt = alert.Acknowledged?.At,
            AcknowledgedComment = alert.Acknowledged?.Comment,
            ResolvedBy = alert.Resolved?.By,
            ResolvedAt = alert.Resolved?.At,
            ResolvedComment = alert.Resolved?.Comment,
        };
    }

    public static AlertEventRow ToEventRow(AlertEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new AlertEventRow(e.Id, e.Alert.Id, Text(e.Type), e.At, e.By,
            JsonSerializer.Serialize(e, AlertsJson.Default.AlertEvent));
    }

    /// <summary>The webhook body of an event: <c>evt_</c> and the event's GUID is the <c>webhook-id</c>.</summary>
    public static OutboxMessage ToOutbox(Guid tenantId, AlertEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var body = new WebhookEvent
        {
            Id = WebhookId(e.Id),
            Type = Text(e.Type),
            Timestamp = e.At,
            Tenant = tenantId.ToString("D"),
            Data = JsonSerializer.SerializeToElement(e, AlertsJson.Default.AlertEvent),
        }.Serialize();
        return new OutboxMessage(e.Id, body);
    }

    public static string WebhookId(Guid eventId) => "evt_" + eventId.ToString("N");

    /// <summary>
    /// What to write for alerts the lifecycle changed and the events it made: every event is stored (the audit trail),
    /// the notifying ones also go to the outbox.
    /// </summary>
    public static AlertWrite ToWrite(Guid tenantId, IEnumerable<Alert> changed, IReadOnlyList<AlertEvent> events,
        IReadOnlyList<AlertStateRow>? states = null) => new()
        {
            States = states ?? [],
            Alerts = [.. changed.Select(ToRow)],
            Events = [.. events.Select(ToEventRow)],
            Outbox = [.. events.Where(e => e.Notifies).Select(e => ToOutbox(tenantId, e))],
        };

    /// <summary>
    /// An operator's action on a stored alert (acknowledge, comment, resolve): the write to make, or the lifecycle's
    /// reason for refusing it (then nothing is written).
    /// </summary>
    public static (AlertWrite Write, string? Refused) Change(Guid tenantId, AlertRow row, Func<Alert, AlertChange> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var change = action(ToAlert(row));
        if (change.Rejected is { } refused)
        {
            return (AlertWrite.Nothing, refused);
        }
        return (ToWrite(tenantId, change.Alert is { } alert ? [alert] : [], change.Events), null);
    }

    /// <summary>The JSON names of every value of <typeparamref name="T"/>, in declaration order.</summary>
    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => [.. Enum.GetValues<T>().Select(Text)];

    /// <summary>The event types subscribers are told about ("alert.opened", …); updates and comments never leave the platform.</summary>
    public static IReadOnlyList<string> NotifyingEventTypes { get; } =
        [.. Enum.GetValues<AlertEventType>().Where(AlertEvent.IsNotifying).Select(Text)];

    /// <summary>The JSON name of an enum value ("HIGH", "open", "alert.opened").</summary>
    public static string Text<T>(T value) where T : struct, Enum =>
        JsonSerializer.Serialize(value, typeof(T), AlertsJson.Default).Trim('"');

    private static T Parse<T>(string text) where T : struct, Enum =>
        (T)JsonSerializer.Deserialize($"\"{text}\"", typeof(T), AlertsJson.Default)!;

    private static AlertAction? Action(string? by, DateTimeOffset? at, string? comment) =>
        by is not null && at is { } when ? new AlertAction(by, when, comment) : null;
}
