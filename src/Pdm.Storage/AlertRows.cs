namespace Pdm.Storage;

// The rows of the alert tables (0007_alerts.sql). Pdm.Storage does not know Pdm.Alerts: rule sets, explanations and
// event payloads are JSON text and evaluation states are bytes, stored exactly as the caller gives them. Severities
// and statuses are the JSON names Pdm.Alerts uses ("HIGH", "open").

public enum AlertSubjectKind
{
    Machine,
    Device,
}

/// <summary>What an alert or an evaluation state is about: a machine id or a device id.</summary>
public readonly record struct AlertSubject(AlertSubjectKind Kind, string Id)
{
    public static AlertSubject Machine(string machineId) => new(AlertSubjectKind.Machine, machineId);

    public static AlertSubject Device(string deviceId) => new(AlertSubjectKind.Device, deviceId);

    internal string KindText => Kind == AlertSubjectKind.Machine ? "machine" : "device";

    internal static AlertSubjectKind ParseKind(string text) => text == "machine" ? AlertSubjectKind.Machine : AlertSubjectKind.Device;
}

/// <summary>A tenant's rule set as stored. <see cref="Revision"/> is the concurrency token (the API's ETag).</summary>
public sealed record AlertRuleSetRow(string DocumentJson, long Revision, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>
/// The outcome of saving a rule set: <see cref="Saved"/>, or a conflict because the stored revision is not the one
/// the caller read (<see cref="CurrentRevision"/> is the stored one, 0 when the tenant has none).
/// </summary>
public sealed record RuleSetSaveResult(AlertRuleSetRow? Saved, long CurrentRevision)
{
    public bool IsConflict => Saved is null;
}

/// <summary>The evaluation state of one subject (AlertEvaluationState.ToBytes).</summary>
public sealed record AlertStateRow(AlertSubject Subject, byte[] State);

/// <summary>One alert as stored: the lifecycle's alert, column by column.</summary>
public sealed record AlertRow
{
    public required Guid Id { get; init; }
    public required AlertSubject Subject { get; init; }
    public required string RuleId { get; init; }
    public required string RuleKind { get; init; }

    /// <summary>LOW, MEDIUM, HIGH or CRITICAL.</summary>
    public required string Severity { get; init; }

    /// <summary>open, acknowledged or resolved.</summary>
    public required string Status { get; init; }

    public required bool Flapping { get; init; }
    public required int Count { get; init; }
    public required DateTimeOffset OpenedAt { get; init; }
    public required DateTimeOffset LastSeenAt { get; init; }
    public required double Value { get; init; }
    public required double Peak { get; init; }

    /// <summary>True when a lower value is worse (remaining life).</summary>
    public required bool LowerIsWorse { get; init; }

    public required bool Firing { get; init; }
    public DateTimeOffset? ClearedAt { get; init; }
    public IReadOnlyList<DateTimeOffset> Reopenings { get; init; } = [];

    /// <summary>The explanation as JSON (AlertsJson's AlertExplanation).</summary>
    public required string ExplanationJson { get; init; }

    public string? AcknowledgedBy { get; init; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public string? AcknowledgedComment { get; init; }
    public string? ResolvedBy { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public string? ResolvedComment { get; init; }
}

/// <summary>One transition of an alert. <see cref="Id"/> is the event id (the webhook-id).</summary>
/// <param name="Type">alert.opened, alert.updated, …</param>
/// <param name="Actor">The operator or "system"; null for the rule's own transitions (audited as "rules").</param>
/// <param name="PayloadJson">The event as JSON (AlertsJson's AlertEvent).</param>
public sealed record AlertEventRow(Guid Id, Guid AlertId, string Type, DateTimeOffset At, string? Actor, string PayloadJson);

/// <summary>An event to publish after commit; <paramref name="PayloadJson"/> is the exact body (the webhook event) to queue.</summary>
public sealed record OutboxMessage(Guid EventId, string PayloadJson);

/// <summary>An unpublished outbox row, as claimed by a publisher.</summary>
public sealed record OutboxRow(Guid EventId, Guid TenantId, string PayloadJson, DateTimeOffset CreatedAt);

/// <summary>
/// What one evaluation or operator action changes, written in one transaction: new evaluation states, the alerts
/// (inserted or updated by id), their events and the outbox rows of the events that notify.
/// </summary>
public sealed record AlertWrite
{
    public static readonly AlertWrite Nothing = new();

    public IReadOnlyList<AlertStateRow> States { get; init; } = [];
    public IReadOnlyList<AlertRow> Alerts { get; init; } = [];
    public IReadOnlyList<AlertEventRow> Events { get; init; } = [];
    public IReadOnlyList<OutboxMessage> Outbox { get; init; } = [];
}

/// <summary>
/// What an evaluation starts from, read under row locks in its transaction: the tenant's rule set (null = defaults),
/// the states of the subjects that have one, and the latest alert (resolved or not) of each (subject, rule).
/// </summary>
public sealed record AlertSnapshot(
    AlertRuleSetRow? RuleSet, IReadOnlyDictionary<AlertSubject, byte[]> States, IReadOnlyList<AlertRow> LatestAlerts)
{
    /// <summary>The machine subjects' kind and first device (pdm.machines); a machine not registered is absent.</summary>
    public IReadOnlyDictionary<string, AlertMachine> Machines { get; init; } = new Dictionary<string, AlertMachine>(StringComparer.Ordinal);

    public IEnumerable<AlertRow> LatestAlertsOf(AlertSubject subject) => LatestAlerts.Where(a => a.Subject == subject);
}

/// <summary>What an evaluation knows of a machine: its kind (for the rules' machine-kind overrides; null when not
/// set) and the device that first sent it (the device whose offline alert explains the machine's silence).</summary>
public sealed record AlertMachine(string? Kind, string? Device);

/// <summary>
/// Evaluates one tenant's subjects from their snapshot, inside the transaction that stores what is evaluated (the
/// readings and scores for ingest), and returns what to write.
/// </summary>
public delegate AlertWrite TenantAlerter(Guid tenantId, AlertSnapshot snapshot);

/// <summary>What an alert write stored.</summary>
public readonly record struct AlertWriteResult(int States, int Alerts, int Events, int Outbox)
{
    public AlertWriteResult Add(AlertWriteResult other) =>
        new(States + other.States, Alerts + other.Alerts, Events + other.Events, Outbox + other.Outbox);
}

/// <summary>A position in the alert list: the last alert of the previous page.</summary>
public sealed record AlertCursor(DateTimeOffset LastSeenAt, Guid Id);

/// <summary>Which alerts to list; every filter is optional (empty = any). Time range on last seen: [From, To).</summary>
public sealed record AlertQuery
{
    public IReadOnlyList<string> Statuses { get; init; } = [];
    public IReadOnlyList<string> Severities { get; init; } = [];
    public AlertSubject? Subject { get; init; }
    public string? RuleId { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public AlertCursor? After { get; init; }
    public int Limit { get; init; } = 100;
}

/// <summary>A page of alerts, latest activity first; <see cref="Next"/> is null on the last page.</summary>
public sealed record AlertPage(IReadOnlyList<AlertRow> Alerts, AlertCursor? Next);

/// <summary>An alert with its events, oldest first.</summary>
public sealed record AlertDetail(AlertRow Alert, IReadOnlyList<AlertEventRow> Events);
