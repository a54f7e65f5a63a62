using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Health;
using Pdm.Telemetry;

namespace Pdm.Alerts.Evaluation;

/// <summary>A stored sample with its anomaly score (null when it was not scored).</summary>
public sealed record ScoredSample(MachineSample Sample, ScoreSnapshot? Score);

/// <summary>Messages a device sent around <see cref="At"/> (for example one ingest batch): accepted and rejected.</summary>
public sealed record MessageCounts(DateTimeOffset At, int Accepted, int Rejected);

/// <summary>
/// Evaluates a machine's (or device's) rules on what happened since the last evaluation and returns the transitions
/// and the new state. Pure: the state goes in and comes out (the input state is not changed). Where the data is:
/// <list type="bullet">
/// <item><see cref="EvaluateSamples"/> in Ingest, on the stored samples and their scores (anomaly_score, iso_zone,
/// sensor_limits, stuck_sensor, dropped_sensor; a sample also ends machine_silent);</item>
/// <item><see cref="EvaluatePrediction"/> in Predict (health_state, failure_probability, rul_below);</item>
/// <item><see cref="EvaluateMachineTick"/> and <see cref="EvaluateDeviceTick"/> on a timer (machine_silent,
/// device_offline);</item>
/// <item><see cref="EvaluateDeviceMessages"/> in Ingest, per device (rejected_messages; a message ends device_offline).</item>
/// </list>
/// Samples are taken in time order and a sample not after the last evaluated one is skipped (a replay), so a
/// machine's samples give the same transitions whether they arrive in one batch or split over several.
/// Pass the rules of the subject (<see cref="RuleSet.ResolveForMachine"/>, <see cref="RuleSet.ResolveForDevice"/>);
/// a rule that disappeared (removed, disabled) while firing clears.
/// </summary>
public static class AlertEvaluator
{
    public static AlertEvaluation EvaluateSamples(IReadOnlyList<AlertRule> rules, AlertEvaluationState? state,
        IEnumerable<ScoredSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var current = state ?? new AlertEvaluationState();
        var ordered = samples.Where(s => current.LastSample is not { } last || s.Sample.Timestamp > last)
            .OrderBy(s => s.Sample.Timestamp).ThenBy(s => s.Sample.Sequence).ToList();
        var run = new Run(rules, current, ordered.Count > 0 ? ordered[0].Sample.Timestamp : null);
        foreach (var sample in ordered)
        {
            if (run.State.LastSample is { } last && sample.Sample.Timestamp <= last)
            {
                continue; // two samples with one timestamp: the first counts, as in scoring
            }
            run.Sample(sample);
        }
        return run.Finish();
    }

    /// <summary>A new prediction made at <paramref name="at"/>; one not after the last evaluated prediction is ignored.</summary>
    public static AlertEvaluation EvaluatePrediction(IReadOnlyList<AlertRule> rules, AlertEvaluationState? state,
        MachinePrediction prediction, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var current = state ?? new AlertEvaluationState();
        if (current.Prediction is { } last && at <= last.At)
        {
            return new Run(rules, current, null).Finish();
        }
        var run = new Run(rules, current, at);
        run.Prediction(prediction, at);
        return run.Finish();
    }

    /// <summary>The clock at <paramref name="now"/> for a machine; <paramref name="deviceOffline"/> holds back
    /// machine_silent while the device's own offline alert explains the silence.</summary>
    public static AlertEvaluation EvaluateMachineTick(IReadOnlyList<AlertRule> rules, AlertEvaluationState? state,
        DateTimeOffset now, bool deviceOffline)
    {
        var run = new Run(rules, state ?? new AlertEvaluationState(), now);
        run.MachineTick(now, deviceOffline);
        return run.Finish();
    }

    /// <summary>The clock at <paramref name="now"/> for a device whose last message (any, accepted or not) was at
    /// <paramref name="lastMessage"/>.</summary>
    public static AlertEvaluation EvaluateDeviceTick(IReadOnlyList<AlertRule> rules, AlertEvaluationState? state,
        DateTimeOffset now, DateTimeOffset? lastMessage)
    {
        var run = new Run(rules, state ?? new AlertEvaluationState(), now);
        run.DeviceTick(now, lastMessage);
        return run.Finish();
    }

    public static AlertEvaluation EvaluateDeviceMessages(IReadOnlyList<AlertRule> rules, AlertEvaluationState? state,
        IEnumerable<MessageCounts> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var ordered = counts.OrderBy(c => c.At).ToList();
        var run = new Run(rules, state ?? new AlertEvaluationState(), ordered.Count > 0 ? ordered[0].At : null);
        foreach (var c in ordered)
        {
            run.Messages(c);
        }
        return run.Finish();
    }

    /// <summary>One evaluation on a copy of the state.</summary>
    private sealed class Run
    {
        private readonly List<(AlertRule Rule, RuleState State)> _rules = [];
        private readonly List<RuleTrigger> _triggers = [];
        private readonly Dictionary<RuleState, Func<string>> _summaries = new(ReferenceEqualityComparer.Instance);

        public Run(IReadOnlyList<AlertRule> rules, AlertEvaluationState state, DateTimeOffset? at)
        {
            ArgumentNullException.ThrowIfNull(rules);
            State = state.Clone();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var rule in rules.Where(r => r.Enabled))
            {
                ids.Add(rule.Id);
                var def = Fingerprint(rule);
                if (!State.Rules.TryGetValue(rule.Id, out var rs))
                {
                    rs = new RuleState { Def = def };
                    State.Rules[rule.Id] = rs;
                }
                else if (rs.Def != def)
                {
                    // The rule changed: its window starts afresh; an open episode goes on until the new rule clears it.
                    rs.Def = def;
                    rs.Bits = null;
                    rs.Filled = null;
                    rs.Streak = null;
                    rs.Sensors = null;
                    rs.Minutes = null;
                }
                _rules.Add((rule, rs));
            }
            if (at is { } time)
            {
                foreach (var (id, rs) in State.Rules.Where(r => !ids.Contains(r.Key)).ToList())
                {
                    if (rs.Firing)
                    {
                        Emit(id, rs.Kind ?? "", TriggerKind.Cleared, time, rs, "the rule was removed or disabled");
                    }
                    State.Rules.Remove(id);
                }
            }
        }

        public AlertEvaluationState State { get; }

        public void Sample(ScoredSample scored)
        {
            var sample = scored.Sample;
            var at = sample.Timestamp;
            State.LastSample = at;
            if (scored.Score is { } score)
            {
                State.Score = score;
            }
            foreach (var (rule, rs) in _rules)
            {
                switch (rule)
                {
                    case AnomalyScoreRule r when scored.Score is { } s:
                        Anomaly(r, rs, s, at);
                        break;
                    case IsoZoneRule r when scored.Score is { } s:
                        IsoZone(r, rs, s, sample, at);
                        break;
                    case SensorLimitsRule r:
                        Limits(r, rs, sample, at);
                        break;
                    case StuckSensorRule r:
                        Stuck(r, rs, sample, at);
                        break;
                    case DroppedSensorRule r:
                        Dropped(r, rs, sample, at);
                        break;
                    case MachineSilentRule:
                        Clear(rule, rs, at, "samples arrive again");
                        break;
                }
            }
        }

        public void Prediction(MachinePrediction prediction, DateTimeOffset at)
        {
            var p = PredictionSnapshot.From(prediction, at);
            State.Prediction = p;
            foreach (var (rule, rs) in _rules)
            {
                switch (rule)
                {
                    case HealthStateRule r when p.Health != "UNKNOWN":
                        if (r.States.Contains(p.Health))
                        {
                            var severity = r.Escalate is { } e && e.States.Contains(p.Health) ? e.Severity : r.Severity;
                            Fire(r, rs, at, severity, HealthRank(p.Health), WorseWhen.Higher,
                                () => $"predicted health {p.Health} (risk {Upper(p.Risk)}: {p.RiskReason})");
                        }
                        else
                        {
                            Clear(r, rs, at, $"predicted health {p.Health}");
                        }
                        break;
                    case FailureProbabilityRule r when (r.Horizon == "24h" ? p.FailureProbability24h : p.FailureProbability48h) is { } probability:
                        var text = $"probability of failure within {r.Horizon} {probability:0.00}";
                        if (probability >= r.Probability || (rs.Firing && probability >= r.EffectiveClearBelow))
                        {
                            var severity = r.Escalate is { } e && probability >= e.Probability ? e.Severity : r.Severity;
                            Fire(r, rs, at, severity, probability, WorseWhen.Higher, () => $"{text} (rule: ≥ {N(r.Probability)})");
                        }
                        else
                        {
                            Clear(r, rs, at, text);
                        }
                        break;
                    case RulBelowRule r when (r.Estimate == "p10" ? p.RulP10Hours : p.RulHours) is { } hours:
                        var rul = $"remaining useful life ({r.Estimate}) {hours:0.0} h";
                        if (hours < r.Hours || (rs.Firing && hours < r.EffectiveClearAboveHours))
                        {
                            var severity = r.Escalate is { } e && hours < e.Hours ? e.Severity : r.Severity;
                            Fire(r, rs, at, severity, hours, WorseWhen.Lower, () => $"{rul} (rule: below {N(r.Hours)} h)");
                        }
                        else
                        {
                            Clear(r, rs, at, rul);
                        }
                        break;
                }
            }
        }

        public void MachineTick(DateTimeOffset now, bool deviceOffline)
        {
            if (State.LastSample is not { } last)
            {
                return; // never heard from: nothing to be silent after
            }
            foreach (var (rule, rs) in _rules)
            {
                if (rule is MachineSilentRule r)
                {
                    var minutes = (now - last).TotalMinutes;
                    if (minutes > r.AfterMinutes && (rs.Firing || !deviceOffline))
                    {
                        Fire(r, rs, now, r.Severity, minutes, WorseWhen.Higher,
                            () => $"no sample for {minutes:0} min (last at {last:u}; rule: {N(r.AfterMinutes)} min)");
                    }
                }
            }
        }

        public void DeviceTick(DateTimeOffset now, DateTimeOffset? lastMessage)
        {
            if (lastMessage is { } seen && (State.LastMessage is not { } known || seen > known))
            {
                State.LastMessage = seen;
            }
            foreach (var (rule, rs) in _rules)
            {
                switch (rule)
                {
                    case DeviceOfflineRule r when State.LastMessage is { } last:
                        var minutes = (now - last).TotalMinutes;
                        if (minutes > r.AfterMinutes)
                        {
                            Fire(r, rs, now, r.Severity, minutes, WorseWhen.Higher,
                                () => $"no message from the device for {minutes:0} min (last at {last:u}; rule: {N(r.AfterMinutes)} min)");
                        }
                        else
                        {
                            Clear(r, rs, now, "the device sends again");
                        }
                        break;
                    case RejectedMessagesRule r:
                        Rejected(r, rs, now, null);
                        break;
                }
            }
        }

        public void Messages(MessageCounts counts)
        {
            if (counts.Accepted + counts.Rejected > 0 && (State.LastMessage is not { } known || counts.At > known))
            {
                State.LastMessage = counts.At;
            }
            foreach (var (rule, rs) in _rules)
            {
                switch (rule)
                {
                    case DeviceOfflineRule when counts.Accepted + counts.Rejected > 0:
                        Clear(rule, rs, counts.At, "the device sends again");
                        break;
                    case RejectedMessagesRule r:
                        Rejected(r, rs, counts.At, counts);
                        break;
                }
            }
        }

        public AlertEvaluation Finish()
        {
            foreach (var rs in _summaries.Keys.ToList())
            {
                Summary(rs);
            }
            return new(_triggers, [.. _rules.Where(r => r.State.Firing).Select(r => new FiringRule
            {
                RuleId = r.Rule.Id,
                RuleKind = r.Rule.Kind,
                Since = r.State.Since!.Value,
                LastSeen = r.State.Seen!.Value,
                Severity = r.State.Severity!.Value,
                Value = r.State.Value ?? 0,
                Peak = r.State.Peak ?? 0,
                Worse = r.State.Worse ?? WorseWhen.Higher,
                Explanation = Explain(r.State.Summary ?? "", r.State.On),
            })], State);
        }

        private void Anomaly(AnomalyScoreRule r, RuleState rs, ScoreSnapshot score, DateTimeOffset at)
        {
            var threshold = score.Threshold * r.ThresholdFactor;
            var count = CountInWindow(rs, r.Window, score.Score > threshold);
            if (count >= r.Window.N || (rs.Firing && count > r.Window.EffectiveClearAt))
            {
                var severity = r.Escalate is { } e && count >= e.N ? e.Severity : r.Severity;
                var filled = rs.Filled;
                Fire(r, rs, at, severity, score.Score, WorseWhen.Higher, () =>
                {
                    var top = string.Join(", ", score.TopSensors.Select(s => $"{s.Sensor} {s.Contribution:0.00}"));
                    return $"{count} of the last {filled} samples scored above the threshold {threshold:0.###} (score {score.Score:0.###}" +
                        (top.Length > 0 ? $"; top sensors: {top})" : ")");
                }, [.. score.TopSensors.Select(s => s.Sensor)]);
            }
            else if (rs.Firing)
            {
                Clear(r, rs, at, $"{count} of the last {rs.Filled} samples above the threshold");
            }
        }

        /// <summary>Shifts this sample into the rule's window (one bit per sample) and counts the samples that met it.</summary>
        private static int CountInWindow(RuleState rs, SampleWindow window, bool met)
        {
            var mask = window.M == 64 ? ulong.MaxValue : (1UL << window.M) - 1;
            var bits = (((rs.Bits ?? 0) << 1) | (met ? 1UL : 0UL)) & mask;
            rs.Bits = bits;
            rs.Filled = Math.Min((rs.Filled ?? 0) + 1, window.M);
            return BitOperations.PopCount(bits);
        }

        private void IsoZone(IsoZoneRule r, RuleState rs, ScoreSnapshot score, MachineSample sample, DateTimeOffset at)
        {
            var zone = score.IsoZone ?? VibrationZone.None;
            var limit = VibrationZoneText.Parse(r.Zone);
            // The scorer gives the machine's worst zone; the sensor is the vibration sensor with the highest reading.
            SensorValue? worst = null;
            foreach (var value in sample.Values)
            {
                if (IsoZoneBoundaries.IsVibrationSensor(value.Sensor) && (worst is null || value.Value > worst.Value.Value))
                {
                    worst = value;
                }
            }
            var inZone = zone >= limit;
            var steady = r.Window is not { } window || CountInWindow(rs, window, inZone) >= window.N;
            if (inZone && (steady || rs.Firing))
            {
                rs.Streak = 0;
                var severity = r.Escalate is { } e && zone >= VibrationZoneText.Parse(e.Zone) ? e.Severity : r.Severity;
                var what = worst is { } w ? $"{w.Sensor} {w.Value:0.00} mm/s" : "vibration";
                Fire(r, rs, at, severity, worst?.Value ?? (double)zone, WorseWhen.Higher,
                    () => $"{what}: ISO 10816 zone {zone}", worst is { } ws ? [ws.Sensor] : []);
            }
            else if (rs.Firing)
            {
                rs.Streak = (rs.Streak ?? 0) + 1;
                if (rs.Streak >= r.ClearSamples)
                {
                    rs.Streak = 0;
                    Clear(r, rs, at, $"zone {(zone == VibrationZone.None ? "none" : zone.ToString())} for {r.ClearSamples} samples");
                }
            }
        }

        private void Limits(SensorLimitsRule r, RuleState rs, MachineSample sample, DateTimeOffset at)
        {
            double? found = null;
            foreach (var value in sample.Values)
            {
                if (value.Sensor == r.Sensor)
                {
                    found = value.Value;
                }
            }
            if (found is not { } v)
            {
                return;
            }
            var outside = v < r.Low || v > r.High;
            var backInside = !(v < r.Low + r.ClearBand) && !(v > r.High - r.ClearBand);
            if (outside || (rs.Firing && !backInside))
            {
                var worse = rs.Firing ? rs.Worse ?? WorseWhen.Higher : v > r.High ? WorseWhen.Higher : WorseWhen.Lower;
                var severity = r.Escalate is { } e && (v < e.Low || v > e.High) ? e.Severity : r.Severity;
                var limits = $"{(r.Low is { } low ? N(low) : "−∞")}..{(r.High is { } high ? N(high) : "∞")}";
                Fire(r, rs, at, severity, v, worse, () => $"{r.Sensor} {v:0.###} outside {limits}", [r.Sensor]);
            }
            else if (rs.Firing)
            {
                Clear(r, rs, at, $"{r.Sensor} {v:0.###} back inside the limits by {N(r.ClearBand)}");
            }
        }

        private void Stuck(StuckSensorRule r, RuleState rs, MachineSample sample, DateTimeOffset at)
        {
            var tracks = rs.Sensors ??= new Dictionary<string, SensorTrack>(StringComparer.Ordinal);
            List<string>? stuck = null;
            var longest = 0.0;
            foreach (var value in sample.Values)
            {
                if (r.Ignore.Contains(value.Sensor))
                {
                    continue;
                }
                if (!tracks.TryGetValue(value.Sensor, out var track))
                {
                    track = new SensorTrack();
                    tracks[value.Sensor] = track;
                }
                if (track.Last is { } last && last.Equals(value.Value))
                {
                    track.Repeats++;
                }
                else
                {
                    (track.Last, track.Since, track.Repeats) = (value.Value, at, 1);
                }
                var minutes = (at - track.Since!.Value).TotalMinutes;
                if (track.Repeats >= r.Samples && minutes >= r.Minutes)
                {
                    (stuck ??= []).Add(value.Sensor);
                    longest = Math.Max(longest, minutes);
                }
            }
            if (stuck is not null)
            {
                var snapshot = stuck.Select(s => (Sensor: s, tracks[s].Last, tracks[s].Repeats)).ToList();
                Fire(r, rs, at, r.Severity, stuck.Count, WorseWhen.Higher,
                    () => $"stuck: {string.Join(", ", snapshot.Select(t => $"{t.Sensor} at {t.Last:0.###} for {t.Repeats} samples"))} (longest {longest:0} min)", stuck);
            }
            else
            {
                Clear(r, rs, at, "every sensor changes again");
            }
        }

        private void Dropped(DroppedSensorRule r, RuleState rs, MachineSample sample, DateTimeOffset at)
        {
            var tracks = rs.Sensors ??= new Dictionary<string, SensorTrack>(StringComparer.Ordinal);
            // Every known sensor counts as missing once, then the ones in the sample start over (no per-sample set).
            foreach (var track in tracks.Values)
            {
                track.Missing++;
            }
            foreach (var value in sample.Values)
            {
                if (r.Ignore.Contains(value.Sensor))
                {
                    continue;
                }
                if (!tracks.TryGetValue(value.Sensor, out var track))
                {
                    tracks[value.Sensor] = track = new SensorTrack();
                }
                track.Missing = 0;
            }
            List<string>? dropped = null;
            foreach (var (sensor, track) in tracks)
            {
                if (track.Missing >= r.Samples)
                {
                    (dropped ??= []).Add(sensor);
                }
            }
            if (dropped is not null)
            {
                dropped.Sort(StringComparer.Ordinal);
                Fire(r, rs, at, r.Severity, dropped.Count, WorseWhen.Higher,
                    () => $"missing from the last {r.Samples} or more samples: {string.Join(", ", dropped)}", dropped);
            }
            else
            {
                Clear(r, rs, at, "every sensor the machine sent is back");
            }
        }

        private void Rejected(RejectedMessagesRule r, RuleState rs, DateTimeOffset at, MessageCounts? counts)
        {
            var minutes = rs.Minutes ??= [];
            var minute = at.ToUnixTimeSeconds() / 60;
            if (counts is not null)
            {
                var bucket = minutes.FirstOrDefault(b => b.Minute == minute);
                if (bucket is null)
                {
                    minutes.Add(bucket = new MinuteCounts { Minute = minute });
                }
                bucket.Accepted += counts.Accepted;
                bucket.Rejected += counts.Rejected;
            }
            minutes.RemoveAll(b => b.Minute <= minute - r.WindowMinutes);
            var rejected = minutes.Sum(b => b.Rejected);
            var total = rejected + minutes.Sum(b => b.Accepted);
            var share = total == 0 ? 0 : (double)rejected / total;
            if (rejected >= r.MinRejected && share > r.MaxShare)
            {
                Fire(r, rs, at, r.Severity, share, WorseWhen.Higher,
                    () => $"{rejected} of {total} messages rejected in the last {r.WindowMinutes} min ({share:P1}; rule: above {r.MaxShare:P1})");
            }
            else
            {
                Clear(r, rs, at, $"{rejected} of {total} messages rejected in the last {r.WindowMinutes} min");
            }
        }

        /// <param name="summary">
        /// Made only when it is needed (a trigger, or the state at the end of the evaluation): a rule that keeps firing is
        /// seen with every sample, and formatting its text each time was most of the evaluator's time.
        /// </param>
        private void Fire(AlertRule rule, RuleState rs, DateTimeOffset at, AlertSeverity severity, double value,
            WorseWhen worse, Func<string> summary, List<string>? sensors = null)
        {
            rs.Kind = rule.Kind;
            rs.Seen = at;
            rs.Value = value;
            _summaries[rs] = summary;
            rs.On = sensors is { Count: > 0 } ? sensors : null;
            if (!rs.Firing)
            {
                (rs.Firing, rs.Since, rs.Severity, rs.Peak, rs.Worse) = (true, at, severity, value, worse);
                Emit(rule.Id, rule.Kind, TriggerKind.Fired, at, rs, Summary(rs));
                return;
            }
            rs.Peak = worse == WorseWhen.Higher ? Math.Max(rs.Peak ?? value, value) : Math.Min(rs.Peak ?? value, value);
            if (severity > rs.Severity)
            {
                rs.Severity = severity;
                Emit(rule.Id, rule.Kind, TriggerKind.Escalated, at, rs, Summary(rs));
            }
        }

        /// <summary>The rule's latest summary, made now if it is still pending.</summary>
        private string Summary(RuleState rs)
        {
            if (_summaries.Remove(rs, out var pending))
            {
                rs.Summary = pending();
            }
            return rs.Summary ?? "";
        }

        private void Clear(AlertRule rule, RuleState rs, DateTimeOffset at, string summary)
        {
            if (!rs.Firing)
            {
                return;
            }
            _summaries.Remove(rs);
            Emit(rule.Id, rule.Kind, TriggerKind.Cleared, at, rs, "cleared: " + summary);
            (rs.Firing, rs.Since, rs.Seen, rs.Severity, rs.Value, rs.Peak, rs.Worse, rs.Summary, rs.On) =
                (false, null, null, null, null, null, null, null, null);
        }

        private void Emit(string ruleId, string kind, TriggerKind trigger, DateTimeOffset at, RuleState rs, string summary) =>
            _triggers.Add(new RuleTrigger
            {
                RuleId = ruleId,
                RuleKind = kind,
                Kind = trigger,
                At = at,
                Severity = rs.Severity ?? AlertSeverity.Low,
                Value = rs.Value ?? 0,
                Peak = rs.Peak ?? rs.Value ?? 0,
                Worse = rs.Worse ?? WorseWhen.Higher,
                Explanation = Explain(summary, rs.On),
            });

        private AlertExplanation Explain(string summary, List<string>? sensors) => new()
        {
            Summary = summary,
            Sensors = sensors is null ? [] : [.. sensors],
            Score = State.Score,
            Prediction = State.Prediction,
        };
    }

    private static double HealthRank(string health) => health switch
    {
        "HEALTHY" => 0,
        "WARNING" => 1,
        "FAULTY" => 2,
        "BROKEN" => 3,
        _ => 1,
    };

    private static string Upper(RiskLevel risk) => risk.ToString().ToUpperInvariant();

    private static string N(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    // A rule set is parsed once and its rules reused by every evaluation, so each rule is hashed once.
    private static readonly ConditionalWeakTable<AlertRule, string> Fingerprints = new();

    private static string Fingerprint(AlertRule rule) => Fingerprints.GetValue(rule, r =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(r, AlertsJson.Default.AlertRule)), 0, 8));
}
