using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Health;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Alerts.Persistence;

/// <summary>A prediction of one machine, made from its samples up to <paramref name="At"/>.</summary>
public sealed record PredictedMachine(string MachineId, MachinePrediction Prediction, DateTimeOffset At);

/// <summary>
/// The <see cref="TenantAlerter"/>s the pipeline hands to storage, one per place rules are evaluated: ingest
/// (<see cref="ForSamples"/>), Predict (<see cref="ForPredictions"/>) and the clock (<see cref="ForTick"/>). Each turns
/// the tenant's snapshot (rule set, states, latest alerts, machine kinds) into what to write: it resolves each
/// subject's rules, runs the evaluator from its stored state, applies the lifecycle and returns
/// <see cref="AlertRecords.ToWrite"/> with the new states. Storage calls it inside the transaction of what is evaluated.
/// A state that cannot be read starts afresh and a stored rule set that no longer parses falls back to the defaults;
/// both are logged, neither fails the write.
/// </summary>
public sealed partial class AlertEvaluations
{
    private static readonly RuleSet Defaults = DefaultRules.Create();

    private readonly AlertLifecycle _lifecycle;
    private readonly ILogger _logger;

    // Parsed rule sets by tenant, valid while the stored revision is the same: a batch does not parse JSON.
    private readonly ConcurrentDictionary<Guid, (long Revision, RuleSet Rules)> _ruleSets = new();

    public AlertEvaluations(AlertPolicy policy, ILogger<AlertEvaluations> logger)
    {
        _lifecycle = new AlertLifecycle(policy);
        _logger = logger;
    }

    public AlertPolicy Policy => _lifecycle.Policy;

    /// <summary>
    /// Ingest: each machine's samples of the batch with their anomaly scores (<paramref name="scoresOf"/> gives the
    /// rows the scorer produced for a tenant in the same transaction; a sample without one is evaluated unscored), and
    /// each device's accepted and rejected messages.
    /// </summary>
    public TenantAlerter ForSamples(IReadOnlyList<TenantBatch> batches, Func<Guid, IReadOnlyList<AnomalyScoreRow>> scoresOf,
        IReadOnlyDictionary<(Guid Tenant, string Device), MessageCounts> messages)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(scoresOf);
        ArgumentNullException.ThrowIfNull(messages);
        return (tenantId, snapshot) =>
        {
            var run = Start(tenantId, snapshot);
            var scores = ScoresByMachine(scoresOf(tenantId));
            foreach (var (machineId, samples) in SamplesByMachine(batches, tenantId))
            {
                var scored = scores.GetValueOrDefault(machineId);
                var input = new ScoredSample[samples.Count];
                for (var i = 0; i < input.Length; i++)
                {
                    var sample = samples[i];
                    input[i] = new ScoredSample(sample,
                        scored is not null && scored.TryGetValue(sample.Timestamp.UtcTicks, out var row) ? Snapshot(row) : null);
                }
                run.Evaluate(AlertSubject.Machine(machineId), (rules, state) => AlertEvaluator.EvaluateSamples(rules, state, input));
            }
            foreach (var ((tenant, deviceId), counts) in messages)
            {
                if (tenant == tenantId)
                {
                    run.Evaluate(AlertSubject.Device(deviceId), (rules, state) => AlertEvaluator.EvaluateDeviceMessages(rules, state, [counts]));
                }
            }
            return run.ToWrite();
        };
    }

    /// <summary>Predict: each machine's new prediction (health, failure probability and remaining-life rules).</summary>
    public TenantAlerter ForPredictions(IReadOnlyList<PredictedMachine> predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return (tenantId, snapshot) =>
        {
            var run = Start(tenantId, snapshot);
            foreach (var p in predictions)
            {
                run.Evaluate(AlertSubject.Machine(p.MachineId), (rules, state) => AlertEvaluator.EvaluatePrediction(rules, state, p.Prediction, p.At));
            }
            return run.ToWrite();
        };
    }

    /// <summary>
    /// The clock at <paramref name="now"/>, for every subject in the snapshot: devices first (offline), then machines
    /// (silent, unless their device's offline alert explains it), then quiet periods that ended resolve their alerts.
    /// </summary>
    public TenantAlerter ForTick(DateTimeOffset now) => (tenantId, snapshot) =>
    {
        var run = Start(tenantId, snapshot);
        var subjects = snapshot.States.Keys.Concat(snapshot.LatestAlerts.Select(a => a.Subject)).Distinct()
            .OrderBy(s => s.Kind == AlertSubjectKind.Device ? 0 : 1).ThenBy(s => s.Id, StringComparer.Ordinal).ToList();
        var offlineDevices = new HashSet<string>(StringComparer.Ordinal);
        foreach (var subject in subjects)
        {
            if (subject.Kind == AlertSubjectKind.Device)
            {
                var state = run.Evaluate(subject, (rules, state) => AlertEvaluator.EvaluateDeviceTick(rules, state, now, null), now);
                if (state.Rules.Values.Any(r => r.Firing && r.Kind == DeviceOfflineRule.KindName))
                {
                    offlineDevices.Add(subject.Id);
                }
            }
            else
            {
                var offline = snapshot.Machines.GetValueOrDefault(subject.Id)?.Device is { } device && offlineDevices.Contains(device);
                run.Evaluate(subject, (rules, state) => AlertEvaluator.EvaluateMachineTick(rules, state, now, offline), now);
            }
        }
        return run.ToWrite();
    };

    /// <summary>The evaluator's view of a stored score row.</summary>
    public static ScoreSnapshot Snapshot(AnomalyScoreRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var zone = VibrationZoneText.Parse(row.IsoZone);
        var top = new SensorShare[Math.Min(row.TopSensors.Length, row.TopContributions.Length)];
        for (var i = 0; i < top.Length; i++)
        {
            top[i] = new SensorShare(row.TopSensors[i], row.TopContributions[i]);
        }
        return new ScoreSnapshot
        {
            At = row.Timestamp,
            Score = row.Score,
            Threshold = row.Threshold,
            IsolationForest = row.IsolationForest,
            Statistical = row.Statistical,
            Temporal = row.Temporal,
            IsoZone = zone == VibrationZone.None ? null : zone,
            Model = row.Model,
            TopSensors = top,
        };
    }

    private TenantRun Start(Guid tenantId, AlertSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new TenantRun(this, tenantId, snapshot, RuleSetOf(tenantId, snapshot.RuleSet));
    }

    private RuleSet RuleSetOf(Guid tenantId, AlertRuleSetRow? stored)
    {
        if (stored is null)
        {
            return Defaults;
        }
        if (_ruleSets.TryGetValue(tenantId, out var cached) && cached.Revision == stored.Revision)
        {
            return cached.Rules;
        }
        var parsed = RuleSetJson.Parse(stored.DocumentJson);
        var rules = parsed.RuleSet;
        if (rules is null)
        {
            // The API validates every rule set it saves, so this is a bug or a hand edit: evaluate, never fail ingest.
            Log.RuleSetUnusable(_logger, tenantId, stored.Revision, string.Join("; ", parsed.Errors));
            rules = Defaults;
        }
        _ruleSets[tenantId] = (stored.Revision, rules);
        return rules;
    }

    private static Dictionary<string, List<MachineSample>> SamplesByMachine(IReadOnlyList<TenantBatch> batches, Guid tenantId)
    {
        var machines = new Dictionary<string, List<MachineSample>>(StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            if (batch.TenantId != tenantId)
            {
                continue;
            }
            foreach (var sample in batch.Samples)
            {
                if (!machines.TryGetValue(sample.MachineId, out var list))
                {
                    machines[sample.MachineId] = list = [];
                }
                list.Add(sample);
            }
        }
        return machines;
    }

    private static Dictionary<string, Dictionary<long, AnomalyScoreRow>> ScoresByMachine(IReadOnlyList<AnomalyScoreRow> rows)
    {
        var machines = new Dictionary<string, Dictionary<long, AnomalyScoreRow>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!machines.TryGetValue(row.MachineId, out var byTime))
            {
                machines[row.MachineId] = byTime = [];
            }
            byTime.TryAdd(row.Timestamp.UtcTicks, row);
        }
        return machines;
    }

    /// <summary>One tenant's evaluation: the alerts and states it changed and the events it made.</summary>
    private sealed class TenantRun(AlertEvaluations owner, Guid tenantId, AlertSnapshot snapshot, RuleSet ruleSet)
    {
        private readonly List<Alert> _changed = [];
        private readonly List<AlertEvent> _events = [];
        private readonly List<AlertStateRow> _states = [];
        private Dictionary<AlertSubject, List<AlertRow>>? _latest;

        /// <summary>Evaluates one subject from its stored state; with <paramref name="tickAt"/>, ends quiet periods too. Returns the new state.</summary>
        public AlertEvaluationState Evaluate(AlertSubject subject,
            Func<IReadOnlyList<AlertRule>, AlertEvaluationState, AlertEvaluation> evaluate, DateTimeOffset? tickAt = null)
        {
            var resolved = subject.Kind == AlertSubjectKind.Machine
                ? ruleSet.ResolveForMachine(subject.Id, snapshot.Machines.GetValueOrDefault(subject.Id)?.Kind)
                : ruleSet.ResolveForDevice(subject.Id);
            if (resolved.Problems.Count > 0)
            {
                Log.OverridesSkipped(owner._logger, tenantId, subject.Id, resolved.Problems.Count, resolved.Problems[0]);
            }
            var stored = snapshot.States.GetValueOrDefault(subject);
            var state = AlertEvaluationState.Read(stored, out var problem);
            if (problem is not null)
            {
                Log.StateUnreadable(owner._logger, tenantId, subject.Id, problem);
            }
            var evaluation = evaluate(resolved.Rules, state);

            var latest = new Dictionary<string, Alert>(StringComparer.Ordinal);
            foreach (var row in LatestOf(subject))
            {
                latest[row.RuleId] = AlertRecords.ToAlert(row);
            }
            var before = new Dictionary<string, Alert>(latest, StringComparer.Ordinal);
            var kind = subject.Kind == AlertSubjectKind.Machine ? RuleSubject.Machine : RuleSubject.Device;
            _events.AddRange(owner._lifecycle.Apply(latest, kind, subject.Id, evaluation));
            if (tickAt is { } now)
            {
                _events.AddRange(owner._lifecycle.Tick(latest, now));
            }
            foreach (var (rule, alert) in latest)
            {
                if (!before.TryGetValue(rule, out var was) || !ReferenceEquals(was, alert))
                {
                    _changed.Add(alert);
                }
            }
            // Unchanged states are not written again (the clock ticks every subject every minute).
            var bytes = evaluation.State.ToBytes();
            if (stored is null || !bytes.AsSpan().SequenceEqual(stored))
            {
                _states.Add(new AlertStateRow(subject, bytes));
            }
            return evaluation.State;
        }

        public AlertWrite ToWrite() =>
            _changed.Count == 0 && _events.Count == 0 && _states.Count == 0
                ? AlertWrite.Nothing
                : AlertRecords.ToWrite(tenantId, _changed, _events, _states);

        private List<AlertRow> LatestOf(AlertSubject subject)
        {
            _latest ??= snapshot.LatestAlerts.GroupBy(a => a.Subject).ToDictionary(g => g.Key, g => g.ToList());
            return _latest.GetValueOrDefault(subject) ?? [];
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10000, Level = LogLevel.Error,
            Message = "The stored alert rule set of tenant {TenantId} (revision {Revision}) does not validate; the default rules apply until it is saved again: {Errors}")]
        public static partial void RuleSetUnusable(ILogger logger, Guid tenantId, long revision, string errors);

        [LoggerMessage(EventId = 10001, Level = LogLevel.Warning,
            Message = "The alert evaluation state of {Subject} (tenant {TenantId}) cannot be used ({Reason}); it starts afresh")]
        public static partial void StateUnreadable(ILogger logger, Guid tenantId, string subject, string reason);

        [LoggerMessage(EventId = 10002, Level = LogLevel.Debug,
            Message = "{Count} alert rule overrides of {Subject} (tenant {TenantId}) were skipped, the first: {Problem}")]
        public static partial void OverridesSkipped(ILogger logger, Guid tenantId, string subject, int count, string problem);
    }
}
