using System.Text.Json.Serialization;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Lifecycle;

[JsonConverter(typeof(JsonStringEnumConverter<AlertStatus>))]
public enum AlertStatus
{
    [JsonStringEnumMemberName("open")] Open,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("resolved")] Resolved,
}

/// <summary>Who did something to an alert, when, and what they said. <see cref="By"/> is <see cref="AlertLifecycle.System"/>
/// for automatic resolutions.</summary>
public sealed record AlertAction(string By, DateTimeOffset At, string? Comment);

/// <summary>
/// One alert: a problem of one subject (machine or device) under one rule. There is at most one unresolved alert per
/// (subject, rule); a repeat updates it. Immutable: <see cref="AlertLifecycle"/> returns the next version with events.
/// </summary>
public sealed record Alert
{
    public required Guid Id { get; init; }
    public required RuleSubject Subject { get; init; }

    /// <summary>The machine id or device id.</summary>
    public required string SubjectId { get; init; }

    public required string RuleId { get; init; }
    public required string RuleKind { get; init; }
    public required AlertStatus Status { get; init; }
    public required AlertSeverity Severity { get; init; }
    public required DateTimeOffset OpenedAt { get; init; }

    /// <summary>The last time the rule was seen firing.</summary>
    public required DateTimeOffset LastSeenAt { get; init; }

    /// <summary>How many times the rule fired within this alert (1 when opened, +1 per repeat or reopening).</summary>
    public required int Count { get; init; }

    public required double Value { get; init; }

    /// <summary>The worst value while the alert was open (the highest, or the lowest for remaining life).</summary>
    public required double Peak { get; init; }

    public required WorseWhen Worse { get; init; }

    /// <summary>Whether the rule is firing now; when it clears, <see cref="ClearedAt"/> starts the quiet period.</summary>
    public required bool Firing { get; init; }

    public DateTimeOffset? ClearedAt { get; init; }
    public AlertAction? Acknowledged { get; init; }
    public AlertAction? Resolved { get; init; }

    /// <summary>Reopened more than the policy allows within its window: it then stays open until quiet for the whole
    /// window, instead of notifying at every reopening.</summary>
    public bool Flapping { get; init; }

    /// <summary>When it was reopened within the flapping window (older ones are dropped).</summary>
    public IReadOnlyList<DateTimeOffset> Reopenings { get; init; } = [];

    public required AlertExplanation Explanation { get; init; }
}
