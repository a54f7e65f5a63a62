using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Lifecycle;

/// <summary>How alerts resolve themselves and when they count as flapping.</summary>
public sealed record AlertPolicy
{
    /// <summary>How long a rule must stay clear before its alert resolves itself.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The quiet period of alerts on a machine's condition (anomaly score, ISO zone). A worn machine does not heal: its
    /// scores bounce around the threshold for days while the wear grows, and with the short quiet period each bounce
    /// was a new alert. Longer, the first alert stays open until the machine has really been quiet (repaired).
    /// </summary>
    public TimeSpan ConditionQuietPeriod { get; init; } = TimeSpan.FromHours(6);

    /// <summary>A resolved alert whose rule fires again within this window is reopened, not opened anew.</summary>
    public TimeSpan FlappingWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>More reopenings than this within <see cref="FlappingWindow"/> mark the alert flapping: it then needs
    /// the whole window of quiet to resolve, so it stops notifying at every bounce.</summary>
    public int MaxReopenings { get; init; } = 3;

    /// <summary>Null when usable, else the field and why.</summary>
    public string? Validate() =>
        QuietPeriod < TimeSpan.Zero ? "quietPeriod must not be negative"
        : ConditionQuietPeriod < TimeSpan.Zero ? "conditionQuietPeriod must not be negative"
        : FlappingWindow < QuietPeriod ? "flappingWindow must be at least quietPeriod"
        : MaxReopenings < 0 ? "maxReopenings must not be negative"
        : null;

    /// <summary>How long <paramref name="alert"/>'s rule must stay clear before it resolves itself.</summary>
    public TimeSpan QuietPeriodOf(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var quiet = IsCondition(alert.RuleKind) ? ConditionQuietPeriod : QuietPeriod;
        return alert.Flapping ? Max(quiet, FlappingWindow) : quiet;
    }

    /// <summary>Rules about the machine's condition (anomaly score, ISO zone): several of them see one worn machine.</summary>
    public static bool IsCondition(string ruleKind) => ruleKind is AnomalyScoreRule.KindName or IsoZoneRule.KindName;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>The alert after a change (null when there is none) and the events the change produced, in order.
/// <see cref="Rejected"/> says why an operator's action was refused (nothing changed then).</summary>
public sealed record AlertChange(Alert? Alert, IReadOnlyList<AlertEvent> Events, string? Rejected = null)
{
    public static AlertChange None(Alert? alert) => new(alert, []);
}

/// <summary>
/// The alert lifecycle: open → acknowledged → resolved, with repeats, escalation, reopening and the flapping guard.
/// Pure: each method takes the latest alert of a (subject, rule) — open or resolved, or null — and returns the next
/// version with its events. Times come from the triggers and the callers (sample, prediction or clock time).
/// </summary>
public sealed class AlertLifecycle
{
    /// <summary>The actor of automatic transitions.</summary>
    public const string System = "system";

    private const int MaxCommentLength = 2000;
    private const int MaxActorLength = 200;

    private readonly Func<DateTimeOffset, Guid> _newId;

    public AlertLifecycle(AlertPolicy policy, Func<DateTimeOffset, Guid>? newId = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(policy));
        }
        Policy = policy;
        _newId = newId ?? (at => Guid.CreateVersion7(at));
    }

    public AlertPolicy Policy { get; }

    /// <summary>
    /// Applies a whole evaluation of one subject: its triggers in order, then the firing snapshot (last seen, value,
    /// peak). <paramref name="latest"/> holds the latest alert per rule id and is updated in place.
    /// </summary>
    public IReadOnlyList<AlertEvent> Apply(Dictionary<string, Alert> latest, RuleSubject subject, string subjectId,
        AlertEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(latest);
        ArgumentNullException.ThrowIfNull(evaluation);
        var events = new List<AlertEvent>();
        foreach (var trigger in evaluation.Triggers)
        {
            var own = latest.GetValueOrDefault(trigger.RuleId);
            if (trigger.Kind != TriggerKind.Cleared && !IsUnresolved(own) && ConditionAlertOpen(latest, trigger.RuleId, trigger.RuleKind, trigger.At, events) is { } host)
            {
                Keep(latest, host.RuleId, Fold(host, trigger), events);
                continue;
            }
            Keep(latest, trigger.RuleId, Apply(own, subject, subjectId, trigger), events);
        }
        foreach (var firing in evaluation.Firing)
        {
            var own = latest.GetValueOrDefault(firing.RuleId);
            // Not ticked first: the rule has been firing since the last evaluation, so the problem was never quiet.
            if (!IsUnresolved(own) && ConditionAlertOpen(latest, firing.RuleId, firing.RuleKind, null, events) is { } host)
            {
                latest[host.RuleId] = StillSeen(host, firing.LastSeen);
            }
            else if (own is not null)
            {
                latest[firing.RuleId] = Refresh(own, firing).Alert!;
            }
        }
        return events;
    }

    private static bool IsUnresolved(Alert? alert) => alert is not null && alert.Status != AlertStatus.Resolved;

    /// <summary>
    /// One alert per problem: the subject's unresolved alert of another condition rule that a condition rule without an
    /// alert of its own reports to (the earliest opened), after ending its quiet period if that is due at
    /// <paramref name="at"/>; null when there is none or the rule is not a condition rule. An anomaly score and an ISO
    /// zone crossing on one machine are two views of the same wear: the second one updates (and escalates) the first
    /// alert instead of paging again. Without <paramref name="at"/> no quiet period ends.
    /// </summary>
    private Alert? ConditionAlertOpen(Dictionary<string, Alert> latest, string ruleId, string ruleKind, DateTimeOffset? at,
        List<AlertEvent> events)
    {
        if (!AlertPolicy.IsCondition(ruleKind))
        {
            return null;
        }
        Alert? host = null;
        foreach (var other in latest.Values.Where(a => a.RuleId != ruleId && IsUnresolved(a) && AlertPolicy.IsCondition(a.RuleKind)).ToList())
        {
            var due = at is { } now ? Tick(other, now) : AlertChange.None(other);
            Keep(latest, other.RuleId, due, events);
            if (IsUnresolved(due.Alert) && (host is null || due.Alert!.OpenedAt < host.OpenedAt))
            {
                host = due.Alert;
            }
        }
        return host;
    }

    /// <summary>
    /// Another condition rule fired on the subject of <paramref name="host"/>: a repeat of the same problem (count, last
    /// seen, the higher severity, that rule's explanation). Value and peak stay in the host rule's units, and the
    /// host rule's own firing state stays as it is; the quiet period restarts, since the problem was seen again.
    /// </summary>
    private AlertChange Fold(Alert host, RuleTrigger trigger)
    {
        var folded = StillSeen(host, trigger.At) with
        {
            Count = host.Count + 1,
            Severity = Max(host.Severity, trigger.Severity),
            Explanation = trigger.Explanation,
        };
        return new AlertChange(folded, [folded.Severity > host.Severity
            ? Event(AlertEventType.Escalated, trigger.At, folded) with { PreviousSeverity = host.Severity }
            : Event(AlertEventType.Updated, trigger.At, folded)]);
    }

    /// <summary>The problem behind <paramref name="host"/> was seen at <paramref name="at"/> through another condition rule.</summary>
    private static Alert StillSeen(Alert host, DateTimeOffset at) => host with
    {
        LastSeenAt = at > host.LastSeenAt ? at : host.LastSeenAt,
        ClearedAt = host.ClearedAt is { } cleared && cleared < at ? at : host.ClearedAt,
    };

    /// <summary>Auto-resolves, at <paramref name="now"/>, every alert in <paramref name="latest"/> whose quiet period has passed.</summary>
    public IReadOnlyList<AlertEvent> Tick(Dictionary<string, Alert> latest, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(latest);
        var events = new List<AlertEvent>();
        foreach (var rule in latest.Keys.ToList())
        {
            Keep(latest, rule, Tick(latest[rule], now), events);
        }
        return events;
    }

    private static void Keep(Dictionary<string, Alert> latest, string rule, AlertChange change, List<AlertEvent> events)
    {
        if (change.Alert is not null)
        {
            latest[rule] = change.Alert;
        }
        events.AddRange(change.Events);
    }

    /// <summary>One trigger on the latest alert of its (subject, rule).</summary>
    public AlertChange Apply(Alert? latest, RuleSubject subject, string subjectId, RuleTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        var events = new List<AlertEvent>();
        if (latest is not null)
        {
            var due = Tick(latest, trigger.At);
            latest = due.Alert;
            events.AddRange(due.Events);
        }
        var isNew = trigger.Kind is TriggerKind.Fired or TriggerKind.Escalated;
        if (isNew && latest is null)
        {
            var opened = Open(subject, subjectId, trigger);
            events.Add(Event(AlertEventType.Opened, trigger.At, opened));
            return new AlertChange(opened, events);
        }
        if (latest is null)
        {
            return new AlertChange(null, events); // a rule clearing that never had an alert
        }
        if (isNew && latest.Status == AlertStatus.Resolved)
        {
            if (trigger.At - latest.Resolved!.At > Policy.FlappingWindow)
            {
                var opened = Open(subject, subjectId, trigger);
                events.Add(Event(AlertEventType.Opened, trigger.At, opened));
                return new AlertChange(opened, events);
            }
            var reopenings = latest.Reopenings.Where(t => trigger.At - t <= Policy.FlappingWindow).Append(trigger.At).ToList();
            var wasFlapping = latest.Flapping;
            var reopened = Seen(latest, trigger) with
            {
                Status = AlertStatus.Open,
                Severity = Max(latest.Severity, trigger.Severity),
                Count = latest.Count + 1,
                Acknowledged = null,
                Resolved = null,
                Reopenings = reopenings,
                Flapping = reopenings.Count > Policy.MaxReopenings,
            };
            var e = Event(AlertEventType.Reopened, trigger.At, reopened);
            events.Add(wasFlapping ? e with { Notifies = false } : e);
            return new AlertChange(reopened, events);
        }
        if (latest.Status == AlertStatus.Resolved)
        {
            return new AlertChange(latest, events); // cleared after an operator resolved it: nothing to do
        }
        switch (trigger.Kind)
        {
            case TriggerKind.Fired:
            case TriggerKind.Escalated:
                var repeat = Seen(latest, trigger) with
                {
                    Count = latest.Count + (trigger.Kind == TriggerKind.Fired || !latest.Firing ? 1 : 0),
                    Severity = Max(latest.Severity, trigger.Severity),
                };
                events.Add(repeat.Severity > latest.Severity
                    ? Event(AlertEventType.Escalated, trigger.At, repeat) with { PreviousSeverity = latest.Severity }
                    : Event(AlertEventType.Updated, trigger.At, repeat));
                return new AlertChange(repeat, events);
            default:
                var cleared = latest with
                {
                    Firing = false,
                    ClearedAt = trigger.At,
                    Peak = Worst(latest.Peak, trigger.Peak, latest.Worse),
                    Explanation = trigger.Explanation,
                };
                events.Add(Event(AlertEventType.Updated, trigger.At, cleared));
                return new AlertChange(cleared, events);
        }
    }

    /// <summary>Last seen, value and peak from a rule still firing; no event (nothing changed state).</summary>
    public static AlertChange Refresh(Alert alert, FiringRule firing)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(firing);
        if (alert.Status == AlertStatus.Resolved || firing.LastSeen < alert.LastSeenAt)
        {
            return AlertChange.None(alert);
        }
        return AlertChange.None(alert with
        {
            LastSeenAt = firing.LastSeen,
            Value = firing.Value,
            Peak = Worst(alert.Peak, firing.Peak, alert.Worse),
            Explanation = firing.Explanation,
        });
    }

    /// <summary>Resolves the alert automatically once its rule has been clear for the quiet period (the flapping
    /// window for a flapping alert).</summary>
    public AlertChange Tick(Alert alert, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (alert.Status == AlertStatus.Resolved || alert.Firing || alert.ClearedAt is not { } cleared)
        {
            return AlertChange.None(alert);
        }
        var quiet = Policy.QuietPeriodOf(alert);
        if (now - cleared < quiet)
        {
            return AlertChange.None(alert);
        }
        var at = cleared + quiet;
        var comment = $"the rule was clear for {quiet.TotalMinutes:0} min";
        var resolved = alert with { Status = AlertStatus.Resolved, Resolved = new AlertAction(System, at, comment) };
        return new AlertChange(resolved, [Event(AlertEventType.Resolved, at, resolved) with { By = System, Comment = comment }]);
    }

    public AlertChange Acknowledge(Alert alert, string by, DateTimeOffset at, string? comment)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (Refuse(by, comment) is { } problem)
        {
            return new AlertChange(alert, [], problem);
        }
        if (alert.Status != AlertStatus.Open)
        {
            return new AlertChange(alert, [], $"the alert is {Text(alert.Status)}: only an open alert can be acknowledged");
        }
        var acknowledged = alert with { Status = AlertStatus.Acknowledged, Acknowledged = new AlertAction(by, at, comment) };
        return new AlertChange(acknowledged,
            [Event(AlertEventType.Acknowledged, at, acknowledged) with { By = by, Comment = comment }]);
    }

    public AlertChange Comment(Alert alert, string by, DateTimeOffset at, string comment)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (string.IsNullOrWhiteSpace(comment))
        {
            return new AlertChange(alert, [], "comment: must not be empty");
        }
        if (Refuse(by, comment) is { } problem)
        {
            return new AlertChange(alert, [], problem);
        }
        return new AlertChange(alert, [Event(AlertEventType.Commented, at, alert) with { By = by, Comment = comment }]);
    }

    /// <summary>An operator resolves the alert. If the rule still fires, the alert reopens only when it fires anew.</summary>
    public AlertChange Resolve(Alert alert, string by, DateTimeOffset at, string? comment)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (Refuse(by, comment) is { } problem)
        {
            return new AlertChange(alert, [], problem);
        }
        if (alert.Status == AlertStatus.Resolved)
        {
            return new AlertChange(alert, [], "the alert is already resolved");
        }
        var resolved = alert with { Status = AlertStatus.Resolved, Resolved = new AlertAction(by, at, comment) };
        return new AlertChange(resolved, [Event(AlertEventType.Resolved, at, resolved) with { By = by, Comment = comment }]);
    }

    private static string? Refuse(string by, string? comment) =>
        string.IsNullOrWhiteSpace(by) ? "by: name who does it"
        : by.Length > MaxActorLength ? $"by: at most {MaxActorLength} characters"
        : by == System ? $"by: '{System}' is reserved for automatic transitions"
        : comment?.Length > MaxCommentLength ? $"comment: at most {MaxCommentLength} characters"
        : null;

    private Alert Open(RuleSubject subject, string subjectId, RuleTrigger trigger) => new()
    {
        Id = _newId(trigger.At),
        Subject = subject,
        SubjectId = subjectId,
        RuleId = trigger.RuleId,
        RuleKind = trigger.RuleKind,
        Status = AlertStatus.Open,
        Severity = trigger.Severity,
        OpenedAt = trigger.At,
        LastSeenAt = trigger.At,
        Count = 1,
        Value = trigger.Value,
        Peak = trigger.Peak,
        Worse = trigger.Worse,
        Firing = true,
        Explanation = trigger.Explanation,
    };

    private static Alert Seen(Alert alert, RuleTrigger trigger) => alert with
    {
        LastSeenAt = trigger.At > alert.LastSeenAt ? trigger.At : alert.LastSeenAt,
        Value = trigger.Value,
        Peak = Worst(alert.Peak, trigger.Peak, alert.Worse),
        Firing = true,
        ClearedAt = null,
        Explanation = trigger.Explanation,
    };

    private AlertEvent Event(AlertEventType type, DateTimeOffset at, Alert alert) => new()
    {
        Id = _newId(at),
        Type = type,
        At = at,
        Notifies = AlertEvent.IsNotifying(type),
        Alert = alert,
    };

    private static AlertSeverity Max(AlertSeverity a, AlertSeverity b) => a > b ? a : b;

    private static double Worst(double a, double b, WorseWhen worse) => worse == WorseWhen.Higher ? Math.Max(a, b) : Math.Min(a, b);

    private static string Text(AlertStatus status) => status.ToString().ToLowerInvariant();
}
