namespace Pdm.Alerts.Rules;

/// <summary>
/// The rule set a new tenant starts with: few alerts, each one worth waking someone for or worth a ticket. Why each
/// default is what it is: docs/alerts.md#defaults.
/// </summary>
public static class DefaultRules
{
    public const string Json = """
        {
          "version": 1,
          "rules": [
            { "id": "anomaly", "kind": "anomaly_score", "severity": "MEDIUM",
              "window": { "n": 48, "m": 60, "clearAt": 12 }, "escalate": { "n": 56, "severity": "HIGH" } },
            { "id": "vibration", "kind": "iso_zone", "severity": "HIGH", "zone": "C",
              "window": { "n": 8, "m": 10 }, "clearSamples": 120,
              "escalate": { "zone": "D", "severity": "CRITICAL" } },
            { "id": "health", "kind": "health_state", "severity": "HIGH", "states": ["FAULTY", "BROKEN"],
              "escalate": { "states": ["BROKEN"], "severity": "CRITICAL" } },
            { "id": "failure-24h", "kind": "failure_probability", "severity": "HIGH", "horizon": "24h",
              "probability": 0.8, "clearBelow": 0.6, "escalate": { "probability": 0.95, "severity": "CRITICAL" } },
            { "id": "rul", "kind": "rul_below", "severity": "HIGH", "enabled": false, "hours": 24, "estimate": "p10" },
            { "id": "silent", "kind": "machine_silent", "severity": "MEDIUM", "afterMinutes": 15 },
            { "id": "offline", "kind": "device_offline", "severity": "HIGH", "afterMinutes": 10 },
            { "id": "stuck-sensor", "kind": "stuck_sensor", "severity": "LOW", "samples": 60, "minutes": 30 },
            { "id": "dropped-sensor", "kind": "dropped_sensor", "severity": "LOW", "samples": 60 },
            { "id": "rejected", "kind": "rejected_messages", "severity": "LOW", "windowMinutes": 15, "maxShare": 0.05,
              "minRejected": 10 }
          ],
          "overrides": []
        }
        """;

    /// <summary>A fresh copy of the defaults.</summary>
    public static RuleSet Create() => RuleSetJson.Parse(Json).RuleSet
        ?? throw new InvalidOperationException("the default rule set does not validate");
}
