using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Pdm.Alerts.Rules;

/// <summary>
/// A tenant's alert rules and the overrides that change them for a machine kind, a machine or a device. An override
/// names one rule and exactly one scope; <see cref="RuleOverride.Set"/> is a JSON merge patch (RFC 7396) on the rule
/// (any field but <c>id</c> and <c>kind</c>; <c>"enabled": false</c> turns the rule off there).
/// Parse and validate with <see cref="RuleSetJson.Parse(string)"/>.
/// </summary>
public sealed record RuleSet
{
    public const int CurrentVersion = 1;

    public int Version { get; set; } = CurrentVersion;

    public required IReadOnlyList<AlertRule> Rules { get; init; }

    public IReadOnlyList<RuleOverride> Overrides { get; set; } = [];

    /// <summary>
    /// The rules that apply to a machine, in rule-set order, disabled ones left out. Resolution order: machine override
    /// over machine-kind override over the tenant's rule; each applies on top of the one before. A layer whose result
    /// would be invalid (possible only when a kind and a machine override clash) is skipped and named in
    /// <see cref="ResolvedRules.Problems"/>.
    /// </summary>
    public ResolvedRules ResolveForMachine(string machineId, string? machineKind) =>
        Resolve(RuleSubject.Machine, o => (o.MachineKind is not null && o.MachineKind == machineKind) ? 1
            : o.Machine == machineId ? 2 : 0);

    /// <summary>The device rules (device_offline, rejected_messages) of a device, with its device overrides.</summary>
    public ResolvedRules ResolveForDevice(string deviceId) =>
        Resolve(RuleSubject.Device, o => o.Device == deviceId ? 2 : 0);

    private ResolvedRules Resolve(RuleSubject subject, Func<RuleOverride, int> layer)
    {
        var rules = new List<AlertRule>();
        var problems = new List<string>();
        foreach (var rule in Rules)
        {
            if (rule.Subject != subject)
            {
                continue;
            }
            var resolved = rule;
            foreach (var (o, index) in Overrides.Select((o, i) => (o, i))
                .Where(x => x.o.Rule == rule.Id && layer(x.o) > 0).OrderBy(x => layer(x.o)))
            {
                var patched = RuleSetJson.Patch(resolved, o.Set, out var errors);
                if (patched is null)
                {
                    problems.Add($"overrides[{index}] not applied to rule {rule.Id}: {string.Join("; ", errors)}");
                    continue;
                }
                resolved = patched;
            }
            if (resolved.Enabled)
            {
                rules.Add(resolved);
            }
        }
        return new ResolvedRules(rules, problems);
    }
}

/// <summary>Changes one rule for a machine kind, a machine or a device (exactly one of the three).</summary>
public sealed record RuleOverride
{
    public required string Rule { get; init; }
    public string? MachineKind { get; init; }
    public string? Machine { get; init; }
    public string? Device { get; init; }

    /// <summary>A JSON merge patch on the rule, for example <c>{"severity":"HIGH","window":{"n":4}}</c>.</summary>
    public required JsonObject Set { get; init; }

    [JsonIgnore]
    public string Scope => Machine is not null ? $"machine {Machine}"
        : MachineKind is not null ? $"machine kind {MachineKind}" : $"device {Device}";
}

/// <summary>The effective rules of one machine or device.</summary>
public sealed record ResolvedRules(IReadOnlyList<AlertRule> Rules, IReadOnlyList<string> Problems);

/// <summary>One problem of a rule set: the JSON path of the field and what is wrong with it.</summary>
public sealed record RuleError(string Path, string Reason)
{
    public override string ToString() => Path.Length == 0 ? Reason : $"{Path}: {Reason}";
}
