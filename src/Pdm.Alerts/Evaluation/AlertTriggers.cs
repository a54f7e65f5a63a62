using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Evaluation;

/// <summary>What changed for a rule: it started firing, got worse past its escalation, or cleared.</summary>
public enum TriggerKind
{
    Fired,
    Escalated,
    Cleared,
}

/// <summary>Which way a rule's value gets worse: most go up (a score, a probability), remaining life goes down.</summary>
public enum WorseWhen
{
    Higher,
    Lower,
}

/// <summary>
/// A rule's transition at <see cref="At"/> (the sample's, prediction's or tick's time). <see cref="Value"/> is the
/// rule's measure then (see docs/alerts.md for each kind's), <see cref="Peak"/> the worst since it fired.
/// </summary>
public sealed record RuleTrigger
{
    public required string RuleId { get; init; }
    public required string RuleKind { get; init; }
    public required TriggerKind Kind { get; init; }
    public required DateTimeOffset At { get; init; }
    public required AlertSeverity Severity { get; init; }
    public required double Value { get; init; }
    public required double Peak { get; init; }
    public required WorseWhen Worse { get; init; }
    public required AlertExplanation Explanation { get; init; }
}

/// <summary>A rule still firing after an evaluation: when it was last seen firing, its value and peak.</summary>
public sealed record FiringRule
{
    public required string RuleId { get; init; }
    public required string RuleKind { get; init; }
    public required DateTimeOffset Since { get; init; }
    public required DateTimeOffset LastSeen { get; init; }
    public required AlertSeverity Severity { get; init; }
    public required double Value { get; init; }
    public required double Peak { get; init; }
    public required WorseWhen Worse { get; init; }
    public required AlertExplanation Explanation { get; init; }
}

/// <summary>
/// One evaluation: the transitions in time order (the same whether the samples came in one batch or several), the
/// rules firing at its end (a snapshot for refreshing open alerts' last seen and peak), and the state to store.
/// </summary>
public sealed record AlertEvaluation(IReadOnlyList<RuleTrigger> Triggers, IReadOnlyList<FiringRule> Firing,
    AlertEvaluationState State);
