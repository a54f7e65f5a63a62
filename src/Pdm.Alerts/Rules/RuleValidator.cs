using System.Globalization;
using Pdm.Telemetry;

namespace Pdm.Alerts.Rules;

/// <summary>The value checks of a rule set whose shape is right: ranges, relations between fields, references.</summary>
public static class RuleValidator
{
    private const int MaxRules = 100;
    private const int MaxOverrides = 1000;
    private static readonly string[] Zones = ["C", "D"];
    private static readonly string[] Horizons = ["24h", "48h"];
    private static readonly string[] Estimates = ["median", "p10"];

    public static IReadOnlyList<RuleError> Validate(RuleSet ruleSet)
    {
        ArgumentNullException.ThrowIfNull(ruleSet);
        var errors = new List<RuleError>();
        if (ruleSet.Version != RuleSet.CurrentVersion)
        {
            errors.Add(new RuleError("version", $"must be {RuleSet.CurrentVersion}"));
        }
        if (ruleSet.Rules.Count > MaxRules)
        {
            errors.Add(new RuleError("rules", $"at most {MaxRules} rules"));
        }
        if (ruleSet.Overrides.Count > MaxOverrides)
        {
            errors.Add(new RuleError("overrides", $"at most {MaxOverrides} overrides"));
        }
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var invalidRules = new HashSet<int>();
        for (var i = 0; i < ruleSet.Rules.Count; i++)
        {
            var rule = ruleSet.Rules[i];
            if (!ids.TryAdd(rule.Id, i))
            {
                errors.Add(new RuleError($"rules[{i}].id", $"'{rule.Id}' is already the id of rules[{ids[rule.Id]}]"));
            }
            var ruleErrors = ValidateRule(rule, $"rules[{i}]");
            if (ruleErrors.Count > 0)
            {
                invalidRules.Add(i);
                errors.AddRange(ruleErrors);
            }
        }
        var scopes = new HashSet<(string, string)>();
        for (var i = 0; i < ruleSet.Overrides.Count; i++)
        {
            var o = ruleSet.Overrides[i];
            var path = $"overrides[{i}]";
            var scopeCount = (o.Machine is null ? 0 : 1) + (o.MachineKind is null ? 0 : 1) + (o.Device is null ? 0 : 1);
            if (scopeCount != 1)
            {
                errors.Add(new RuleError(path, "name exactly one of machine, machineKind or device"));
                continue;
            }
            if (!ids.TryGetValue(o.Rule, out var ruleIndex))
            {
                errors.Add(new RuleError($"{path}.rule", $"no rule has id '{o.Rule}'"));
                continue;
            }
            var rule = ruleSet.Rules[ruleIndex];
            if ((rule.Subject == RuleSubject.Device) != (o.Device is not null))
            {
                errors.Add(new RuleError(path, rule.Subject == RuleSubject.Device
                    ? $"rule '{rule.Id}' ({rule.Kind}) watches devices: use device"
                    : $"rule '{rule.Id}' ({rule.Kind}) watches machines: use machine or machineKind"));
                continue;
            }
            if (!scopes.Add((o.Scope, o.Rule)))
            {
                errors.Add(new RuleError(path, $"a second override of rule '{o.Rule}' for {o.Scope}"));
            }
            if (invalidRules.Contains(ruleIndex))
            {
                continue;
            }
            RuleSetJson.Patch(rule, o.Set, out var patchErrors);
            errors.AddRange(patchErrors.Select(e => new RuleError(
                RuleSetJson.Join($"{path}.set", e.Path), e.Reason)));
        }
        return errors;
    }

    /// <summary>The value checks of one rule; paths start with <paramref name="path"/>.</summary>
    public static IReadOnlyList<RuleError> ValidateRule(AlertRule rule, string path)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var errors = new List<RuleError>();
        void Fail(string field, string reason) => errors.Add(new RuleError(RuleSetJson.Join(path, field), reason));
        void Positive(string field, double value)
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                Fail(field, $"must be above 0, got {Text(value)}");
            }
        }
        void Probability(string field, double value)
        {
            if (!(value is >= 0 and <= 1))
            {
                Fail(field, $"must be between 0 and 1, got {Text(value)}");
            }
        }
        void Window(SampleWindow w)
        {
            if (w.M is < 1 or > SampleWindow.MaxM)
            {
                Fail("window.m", $"must be 1 to {SampleWindow.MaxM}, got {w.M}");
            }
            if (w.N < 1)
            {
                Fail("window.n", $"must be at least 1, got {w.N}");
            }
            else if (w.N > w.M)
            {
                Fail("window.n", $"must be ≤ window.m ({w.M}), got {w.N}");
            }
            if (w.ClearAt is { } clearAt && (clearAt < 0 || clearAt >= w.N))
            {
                Fail("window.clearAt", $"must be 0 to window.n − 1 ({w.N - 1}), got {clearAt}");
            }
        }

        void Escalates(string field, AlertSeverity severity)
        {
            if (severity <= rule.Severity)
            {
                Fail(field, $"must be above the rule's severity {Name(rule.Severity)}");
            }
        }

        if (!IsRuleId(rule.Id))
        {
            Fail("id", "must be 1 to 63 characters: lower-case letters, digits, '-' or '_', starting with a letter");
        }
        switch (rule)
        {
            case AnomalyScoreRule r:
                var w = r.Window;
                Window(w);
                Positive("thresholdFactor", r.ThresholdFactor);
                if (r.Escalate is { } ae)
                {
                    if (ae.N <= w.N || ae.N > w.M)
                    {
                        Fail("escalate.n", $"must be above window.n ({w.N}) and ≤ window.m ({w.M}), got {ae.N}");
                    }
                    Escalates("escalate.severity", ae.Severity);
                }
                break;
            case IsoZoneRule r:
                if (!Zones.Contains(r.Zone))
                {
                    Fail("zone", $"must be C or D, got '{r.Zone}'");
                }
                if (r.Window is { } zw)
                {
                    Window(zw);
                }
                if (r.ClearSamples is < 1 or > 10_000)
                {
                    Fail("clearSamples", $"must be 1 to 10000, got {r.ClearSamples}");
                }
                if (r.Escalate is { } ze)
                {
                    if (ze.Zone != "D" || r.Zone != "C")
                    {
                        Fail("escalate.zone", "must be D, escalating a rule on zone C");
                    }
                    Escalates("escalate.severity", ze.Severity);
                }
                break;
            case HealthStateRule r:
                if (r.States.Count == 0)
                {
                    Fail("states", "name at least one health state, for example FAULTY");
                }
                for (var i = 0; i < r.States.Count; i++)
                {
                    if (string.IsNullOrWhiteSpace(r.States[i]) || r.States[i] == "UNKNOWN")
                    {
                        Fail($"states[{i}]", "must be a health state other than UNKNOWN (HEALTHY, WARNING, FAULTY, BROKEN)");
                    }
                }
                if (r.Escalate is { } he)
                {
                    for (var i = 0; i < he.States.Count; i++)
                    {
                        if (!r.States.Contains(he.States[i]))
                        {
                            Fail($"escalate.states[{i}]", $"'{he.States[i]}' must also be in states");
                        }
                    }
                    Escalates("escalate.severity", he.Severity);
                }
                break;
            case FailureProbabilityRule r:
                if (!Horizons.Contains(r.Horizon))
                {
                    Fail("horizon", $"must be 24h or 48h, got '{r.Horizon}'");
                }
                Probability("probability", r.Probability);
                if (r.ClearBelow is { } below && (!(below >= 0) || below > r.Probability))
                {
                    Fail("clearBelow", $"must be 0 to probability ({Text(r.Probability)}), got {Text(below)}");
                }
                if (r.Escalate is { } pe)
                {
                    Probability("escalate.probability", pe.Probability);
                    if (pe.Probability <= r.Probability)
                    {
                        Fail("escalate.probability", $"must be above probability ({Text(r.Probability)})");
                    }
                    Escalates("escalate.severity", pe.Severity);
                }
                break;
            case RulBelowRule r:
                Positive("hours", r.Hours);
                if (!Estimates.Contains(r.Estimate))
                {
                    Fail("estimate", $"must be median or p10, got '{r.Estimate}'");
                }
                if (r.ClearAboveHours is { } above && !(above >= r.Hours))
                {
                    Fail("clearAboveHours", $"must be ≥ hours ({Text(r.Hours)}), got {Text(above)}");
                }
                if (r.Escalate is { } re)
                {
                    if (!(re.Hours > 0 && re.Hours < r.Hours))
                    {
                        Fail("escalate.hours", $"must be above 0 and below hours ({Text(r.Hours)}), got {Text(re.Hours)}");
                    }
                    Escalates("escalate.severity", re.Severity);
                }
                break;
            case SensorLimitsRule r:
                if (!SensorCatalog.IsValidName(r.Sensor))
                {
                    Fail("sensor", $"'{r.Sensor}' is not a sensor name (lower snake case, 1 to 63 characters)");
                }
                if (r.Low is null && r.High is null)
                {
                    Fail("", "set low, high or both");
                }
                if (r.Low is { } low && r.High is { } high && !(low < high))
                {
                    Fail("low", $"must be below high ({Text(high)}), got {Text(low)}");
                }
                if (!(r.ClearBand >= 0) || (r.Low is { } l && r.High is { } h && 2 * r.ClearBand >= h - l))
                {
                    Fail("clearBand", $"must be ≥ 0 and less than half of high − low, got {Text(r.ClearBand)}");
                }
                if (r.Escalate is { } le)
                {
                    if (le.Low is null && le.High is null)
                    {
                        Fail("escalate", "set low, high or both");
                    }
                    if (le.Low is { } el && !(r.Low is { } rl && el < rl))
                    {
                        Fail("escalate.low", $"must be below low, got {Text(el)}");
                    }
                    if (le.High is { } eh && !(r.High is { } rh && eh > rh))
                    {
                        Fail("escalate.high", $"must be above high, got {Text(eh)}");
                    }
                    Escalates("escalate.severity", le.Severity);
                }
                break;
            case MachineSilentRule r:
                Positive("afterMinutes", r.AfterMinutes);
                break;
            case DeviceOfflineRule r:
                Positive("afterMinutes", r.AfterMinutes);
                break;
            case StuckSensorRule r:
                if (r.Samples < 2)
                {
                    Fail("samples", $"must be at least 2, got {r.Samples}");
                }
                Positive("minutes", r.Minutes);
                SensorNames("ignore", r.Ignore, Fail);
                break;
            case DroppedSensorRule r:
                if (r.Samples < 1)
                {
                    Fail("samples", $"must be at least 1, got {r.Samples}");
                }
                SensorNames("ignore", r.Ignore, Fail);
                break;
            case RejectedMessagesRule r:
                if (r.WindowMinutes is < 1 or > 1440)
                {
                    Fail("windowMinutes", $"must be 1 to 1440, got {r.WindowMinutes}");
                }
                if (!(r.MaxShare is >= 0 and < 1))
                {
                    Fail("maxShare", $"must be at least 0 and below 1, got {Text(r.MaxShare)}");
                }
                if (r.MinRejected < 1)
                {
                    Fail("minRejected", $"must be at least 1, got {r.MinRejected}");
                }
                break;
        }
        return errors;
    }

    private static void SensorNames(string field, IReadOnlyList<string> names, Action<string, string> fail)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (!SensorCatalog.IsValidName(names[i]))
            {
                fail($"{field}[{i}]", $"'{names[i]}' is not a sensor name");
            }
        }
    }

    private static bool IsRuleId(string id) =>
        id.Length is >= 1 and <= 63 && id[0] is >= 'a' and <= 'z'
        && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');

    internal static string Name(AlertSeverity severity) => severity.ToString().ToUpperInvariant();

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
