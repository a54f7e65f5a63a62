using Pdm.Alerts.Rules;

namespace Pdm.Alerts.Tests;

public class RuleResolutionTests
{
    private static readonly RuleSet Rules = RuleSetJson.Parse("""
        {"version":1,
         "rules":[{"id":"anomaly","kind":"anomaly_score","severity":"MEDIUM","window":{"n":8,"m":10}},
                  {"id":"limits","kind":"sensor_limits","severity":"LOW","sensor":"bearing_temperature","high":90},
                  {"id":"offline","kind":"device_offline","severity":"HIGH","afterMinutes":10}],
         "overrides":[
           {"rule":"anomaly","machine":"m1","set":{"severity":"CRITICAL"}},
           {"rule":"anomaly","machineKind":"pump","set":{"severity":"HIGH","window":{"n":3,"m":5}}},
           {"rule":"limits","machineKind":"pump","set":{"enabled":false}},
           {"rule":"limits","machine":"m3","set":{"enabled":true,"high":95}},
           {"rule":"offline","device":"gw1","set":{"afterMinutes":30}}]}
        """).RuleSet!;

    [Fact]
    public void Machine_override_wins_over_kind_override_over_tenant_rule()
    {
        var m1 = Rules.ResolveForMachine("m1", "pump");
        var m2 = Rules.ResolveForMachine("m2", "pump");
        var m9 = Rules.ResolveForMachine("m9", "mill");

        var a1 = Assert.IsType<AnomalyScoreRule>(m1.Rules.Single(r => r.Id == "anomaly"));
        Assert.Equal((AlertSeverity.Critical, 3, 5), (a1.Severity, a1.Window.N, a1.Window.M));
        var a2 = Assert.IsType<AnomalyScoreRule>(m2.Rules.Single(r => r.Id == "anomaly"));
        Assert.Equal((AlertSeverity.High, 3), (a2.Severity, a2.Window.N));
        var a9 = Assert.IsType<AnomalyScoreRule>(m9.Rules.Single(r => r.Id == "anomaly"));
        Assert.Equal((AlertSeverity.Medium, 8), (a9.Severity, a9.Window.N));
        Assert.Empty(m1.Problems);
    }

    [Fact]
    public void Kind_override_disables_a_rule_and_a_machine_override_enables_it_again()
    {
        Assert.DoesNotContain(Rules.ResolveForMachine("m2", "pump").Rules, r => r.Id == "limits");
        var m3 = Assert.IsType<SensorLimitsRule>(Rules.ResolveForMachine("m3", "pump").Rules.Single(r => r.Id == "limits"));
        Assert.Equal(95, m3.High);
        Assert.Contains(Rules.ResolveForMachine("m9", "mill").Rules, r => r.Id == "limits");
    }

    [Fact]
    public void Device_rules_resolve_per_device_and_not_per_machine()
    {
        Assert.DoesNotContain(Rules.ResolveForMachine("m1", "pump").Rules, r => r.Id == "offline");
        Assert.Equal(30, Assert.IsType<DeviceOfflineRule>(Rules.ResolveForDevice("gw1").Rules.Single()).AfterMinutes);
        Assert.Equal(10, Assert.IsType<DeviceOfflineRule>(Rules.ResolveForDevice("gw2").Rules.Single()).AfterMinutes);
    }

    [Fact]
    public void Clashing_kind_and_machine_overrides_skip_the_machine_layer_and_say_so()
    {
        var clash = RuleSetJson.Parse("""
            {"version":1,
             "rules":[{"id":"anomaly","kind":"anomaly_score","severity":"MEDIUM","window":{"n":4,"m":10}}],
             "overrides":[
               {"rule":"anomaly","machineKind":"pump","set":{"window":{"m":5}}},
               {"rule":"anomaly","machine":"m1","set":{"window":{"n":8}}}]}
            """).RuleSet!;

        var resolved = clash.ResolveForMachine("m1", "pump");

        var rule = Assert.IsType<AnomalyScoreRule>(resolved.Rules.Single());
        Assert.Equal((4, 5), (rule.Window.N, rule.Window.M));
        Assert.Equal("overrides[1] not applied to rule anomaly: window.n: must be ≤ window.m (5), got 8", resolved.Problems.Single());
    }
}
