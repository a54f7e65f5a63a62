using System.Text.Json.Serialization;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Lifecycle;

[JsonConverter(typeof(JsonStringEnumConverter<AlertEventType>))]
public enum AlertEventType
{
    [JsonStringEnumMemberName("alert.opened")] Opened,
    [JsonStringEnumMemberName("alert.updated")] Updated,
    [JsonStringEnumMemberName("alert.escalated")] Escalated,
    [JsonStringEnumMemberName("alert.acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("alert.commented")] Commented,
    [JsonStringEnumMemberName("alert.resolved")] Resolved,
    [JsonStringEnumMemberName("alert.reopened")] Reopened,
}

/// <summary>
/// One transition of an alert: what the outbox stores, the audit log records and (when <see cref="Notifies"/>) the
/// webhooks deliver. <see cref="Id"/> is a GUID v7 (time-ordered) and is the <c>webhook-id</c>; the event carries the
/// alert as it is after the transition, with its explanation.
/// </summary>
public sealed record AlertEvent
{
    public required Guid Id { get; init; }
    public required AlertEventType Type { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>Whether subscribers are told: opened, reopened, escalated, acknowledged and resolved do; updates
    /// (repeats, the rule clearing) and comments are kept and audited only.</summary>
    public required bool Notifies { get; init; }

    /// <summary>The severity before an escalation.</summary>
    public AlertSeverity? PreviousSeverity { get; init; }

    /// <summary>The operator, for acknowledged, commented and operator-resolved events; "system" when automatic.</summary>
    public string? By { get; init; }

    public string? Comment { get; init; }

    public required Alert Alert { get; init; }

    /// <summary>Event types that notify subscribers.</summary>
    public static bool IsNotifying(AlertEventType type) => type is AlertEventType.Opened or AlertEventType.Reopened
        or AlertEventType.Escalated or AlertEventType.Acknowledged or AlertEventType.Resolved;

    [JsonIgnore]
    public AlertExplanation Explanation => Alert.Explanation;
}
