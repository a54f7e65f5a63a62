using System.Text.Json.Nodes;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Tests;

public class RuleSetJsonTests
{
    private static List<string> Errors(string json) => [.. RuleSetJson.Parse(json).Errors.Select(e => e.ToString())];

    [Fact]
    public void Defaults_validate_and_survive_a_round_trip()
    {
        var defaults = DefaultRules.Create();

        var again = RuleSetJson.Parse(RuleSetJson.Serialize(defaults));

        Assert.True(again.IsValid, string.Join("; ", again.Errors));
        Assert.Equal(RuleSetJson.Serialize(defaults), RuleSetJson.Serialize(again.RuleSet!));
        Assert.Equal(11, typeof(AlertRule).GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonDerivedTypeAttribute), false).Length);
        // Persistence by default: the ensemble's false alarms are frequent, a single sample must not page anyone.
        var anomaly = Assert.IsType<AnomalyScoreRule>(defaults.Rules.Single(r => r.Kind == "anomaly_score"));
        Assert.True(anomaly.Window.N >= 5);
    }

    [Fact]
    public void A_repeated_member_is_an_error_not_an_exception()
    {
        var errors = Errors("""{"version":1,"rules":[{"id":"a","id":"b","kind":"machine_silent","severity":"LOW","afterMinutes":5}]}""");

        var error = Assert.Single(errors);
        Assert.Contains("Duplicate property 'id'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Window_n_above_m_is_named_with_its_path()
    {
        var errors = Errors("""
            {"version":1,"rules":[
              {"id":"a","kind":"machine_silent","severity":"LOW","afterMinutes":5},
              {"id":"b","kind":"device_offline","severity":"LOW","afterMinutes":5},
              {"id":"c","kind":"anomaly_score","severity":"LOW","window":{"n":12,"m":10}}]}
            """);

        Assert.Equal(["rules[2].window.n: must be ≤ window.m (10), got 12"], errors);
    }

    [Fact]
    public void Unknown_kind_and_unknown_field_are_named()
    {
        var errors = Errors("""
            {"version":1,"rules":[
              {"id":"a","kind":"temperature_high","severity":"LOW"},
              {"id":"b","kind":"machine_silent","severity":"LOW","afterMinutes":5,"afterHours":1}]}
            """);

        Assert.Equal(2, errors.Count);
        Assert.StartsWith("rules[0].kind: unknown rule kind 'temperature_high'; known kinds: anomaly_score, iso_zone", errors[0]);
        Assert.StartsWith("rules[1].afterHours: unknown field; known fields here: ", errors[1]);
        Assert.Contains("afterMinutes", errors[1]);
    }

    [Fact]
    public void Wrong_types_missing_fields_and_bad_severities_are_each_reported()
    {
        var errors = Errors("""
            {"version":1,"rules":[
              {"id":"a","kind":"anomaly_score","severity":"URGENT","window":{"n":"8","m":10}},
              {"id":"b","kind":"sensor_limits","severity":3,"sensor":"bearing_temperature"},
              {"kind":"machine_silent","severity":"LOW","afterMinutes":5}]}
            """);

        Assert.Contains("rules[0].severity: must be one of LOW, MEDIUM, HIGH, CRITICAL", errors);
        Assert.Contains("rules[0].window.n: must be a whole number", errors);
        Assert.Contains("rules[1].severity: must be one of LOW, MEDIUM, HIGH, CRITICAL", errors);
        Assert.Contains("rules[2].id: required", errors);
    }

    [Fact]
    public void Value_checks_name_the_field_and_the_reason()
    {
        var errors = Errors("""
            {"version":1,"rules":[
              {"id":"limits","kind":"sensor_limits","severity":"MEDIUM","sensor":"bearing_temperature","low":90,"high":80},
              {"id":"fp","kind":"failure_probability","severity":"HIGH","horizon":"12h","probability":1.5},
              {"id":"zone","kind":"iso_zone","severity":"HIGH","escalate":{"zone":"D","severity":"MEDIUM"}},
              {"id":"zone","kind":"machine_silent","severity":"LOW","afterMinutes":0}]}
            """);

        Assert.Contains("rules[0].low: must be below high (80), got 90", errors);
        Assert.Contains("rules[1].horizon: must be 24h or 48h, got '12h'", errors);
        Assert.Contains("rules[1].probability: must be between 0 and 1, got 1.5", errors);
        Assert.Contains("rules[2].escalate.severity: must be above the rule's severity HIGH", errors);
        Assert.Contains("rules[3].id: 'zone' is already the id of rules[2]", errors);
        Assert.Contains("rules[3].afterMinutes: must be above 0, got 0", errors);
    }

    [Fact]
    public void Override_problems_point_into_the_override()
    {
        var errors = Errors("""
            {"version":1,
             "rules":[{"id":"anomaly","kind":"anomaly_score","severity":"MEDIUM","window":{"n":8,"m":10}},
                      {"id":"offline","kind":"device_offline","severity":"HIGH","afterMinutes":10}],
             "overrides":[
               {"rule":"anomaly","machineKind":"pump","set":{"window":{"m":5}}},
               {"rule":"anomaly","machine":"m1","set":{"windw":{"n":2}}},
               {"rule":"nope","machine":"m1","set":{}},
               {"rule":"anomaly","machine":"m1","machineKind":"pump","set":{}},
               {"rule":"offline","machine":"m1","set":{}},
               {"rule":"anomaly","machine":"m2","set":{"kind":"iso_zone"}}]}
            """);

        Assert.Equal(
        [
            "overrides[0].set.window.n: must be ≤ window.m (5), got 8",
            "overrides[1].set.windw: unknown field",
            "overrides[2].rule: no rule has id 'nope'",
            "overrides[3]: name exactly one of machine, machineKind or device",
            "overrides[4]: rule 'offline' (device_offline) watches devices: use device",
            "overrides[5].set.kind: an override cannot change a rule's kind",
        ], errors.Select(e => e.Split("; known")[0]));
        Assert.Contains("window", errors[1]);
    }

    [Fact]
    public void Broken_json_and_wrong_version_are_reported()
    {
        Assert.StartsWith("not valid JSON", Errors("""{"version":1,"rules":[""").Single());
        Assert.Equal(["version: must be 1"], Errors("""{"version":2,"rules":[]}"""));
        Assert.Equal(["rules: required"], Errors("""{"version":1}"""));
    }

    [Fact]
    public void Merge_patch_removes_nulls_and_merges_objects()
    {
        var target = JsonNode.Parse("""{"a":1,"b":{"c":2,"d":3}}""")!.AsObject();

        RuleSetJson.MergePatch(target, JsonNode.Parse("""{"a":null,"b":{"c":5},"e":[1]}""")!.AsObject());

        Assert.Equal("""{"b":{"c":5,"d":3},"e":[1]}""", target.ToJsonString());
    }
}
