using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Pdm.Alerts;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Telemetry;
using Pdm.Webhooks;

namespace Pdm.Notifications.Email;

/// <summary>An alert event as an e-mail: a subject to triage by, and the same facts as plain text and simple HTML.</summary>
public sealed record AlertEmail(string Subject, string Text, string Html)
{
    /// <summary>
    /// Renders the webhook envelope of an alert event (<see cref="WebhookEvent"/> whose data is an <see cref="AlertEvent"/>).
    /// The subject reads "[HIGH] Vibration zone D on PUMP_001 — opened"; the body leads with the explanation's summary,
    /// then the facts a technician needs (machine, rule, severity, counts, sensors, score, prediction) and the link.
    /// </summary>
    /// <param name="alertLink">The link to the alert, or null for none.</param>
    /// <exception cref="FormatException">The envelope's data is not an alert event; the message says why.</exception>
    public static AlertEmail Render(WebhookEvent envelope, Uri? alertLink)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var alertEvent = ReadAlertEvent(envelope);
        var alert = alertEvent.Alert;
        var subject = $"[{Upper(alert.Severity)}] {Title(alert)} on {SubjectName(alert)} — {Verb(alertEvent)}";

        var facts = Facts(envelope, alertEvent);
        var text = new StringBuilder()
            .AppendLine(subject).AppendLine()
            .AppendLine(alert.Explanation.Summary).AppendLine();
        foreach (var (label, value) in facts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{label + ":",-15}{value}");
        }
        if (alertLink is not null)
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Open the alert: {alertLink}");
        }
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Tenant {envelope.Tenant} · alert {alert.Id} · event {envelope.Id}");

        var html = new StringBuilder()
            .Append("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">")
            .Append(CultureInfo.InvariantCulture, $"<p style=\"border-left:6px solid {Colour(alert.Severity)};padding-left:8px;font-size:1.1em\"><b>{H(subject)}</b></p>")
            .Append(CultureInfo.InvariantCulture, $"<p>{H(alert.Explanation.Summary)}</p><table cellpadding=\"3\">");
        foreach (var (label, value) in facts)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><th align=\"left\" valign=\"top\">{H(label)}</th><td>{H(value)}</td></tr>");
        }
        html.Append("</table>");
        if (alertLink is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p><a href=\"{H(alertLink.AbsoluteUri)}\">Open the alert</a></p>");
        }
        html.Append(CultureInfo.InvariantCulture,
            $"<p style=\"color:#666;font-size:0.85em\">Tenant {H(envelope.Tenant)} · alert {alert.Id} · event {H(envelope.Id)}</p></body></html>");
        return new AlertEmail(subject, text.ToString(), html.ToString());
    }

    /// <exception cref="FormatException">The data is not an alert event.</exception>
    public static AlertEvent ReadAlertEvent(WebhookEvent envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        try
        {
            return envelope.Data.Deserialize(AlertsJson.Default.AlertEvent)
                ?? throw new FormatException($"Event {envelope.Id} data is null, not an alert event.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Event {envelope.Id} ({envelope.Type}) data is not an alert event: {ex.Message}", ex);
        }
    }

    private static List<(string Label, string Value)> Facts(WebhookEvent envelope, AlertEvent e)
    {
        var alert = e.Alert;
        var facts = new List<(string, string)>
        {
            (alert.Subject == RuleSubject.Device ? "Device" : "Machine", alert.SubjectId),
            ("Rule", $"{alert.RuleId} ({alert.RuleKind})"),
            ("Severity", e.PreviousSeverity is { } previous ? $"{Upper(alert.Severity)} (was {Upper(previous)})" : Upper(alert.Severity)),
            ("Status", Status(alert)),
            ("Event", $"{envelope.Type} at {Time(e.At)}" + (e.By is { } by ? $" by {by}" : "")),
        };
        if (e.Comment is { Length: > 0 } comment)
        {
            facts.Add(("Comment", comment));
        }
        var explanation = alert.Explanation;
        if (explanation.Sensors.Count > 0)
        {
            facts.Add(("Sensors", string.Join(", ", explanation.Sensors)));
        }
        if (explanation.Score is { } s)
        {
            var zone = s.IsoZone is { } z && z != VibrationZone.None ? $", ISO 10816 zone {z}" : "";
            facts.Add(("Anomaly score", F($"{s.Score:0.###} (threshold {s.Threshold:0.###}; isolation forest {s.IsolationForest:0.###}, ")
                + F($"statistical {s.Statistical:0.###}, temporal {s.Temporal:0.###}){zone}")));
            if (s.TopSensors.Count > 0)
            {
                facts.Add(("Top sensors", string.Join(", ", s.TopSensors.Select(t => F($"{t.Sensor} {t.Contribution:0.00}")))));
            }
        }
        if (explanation.Prediction is { } p)
        {
            var parts = new List<string> { $"health {p.Health}" };
            if (p.RulHours is { } rul)
            {
                parts.Add(F($"remaining life {rul:0.0} h") + (p.RulP10Hours is { } p10 && p.RulP90Hours is { } p90 ? F($" (P10 {p10:0.0}, P90 {p90:0.0})") : ""));
            }
            if (p.FailureProbability24h is { } f24)
            {
                parts.Add(F($"failure within 24 h {f24:0.00}") + (p.FailureProbability48h is { } f48 ? F($", 48 h {f48:0.00}") : ""));
            }
            parts.Add($"risk {p.Risk.ToString().ToUpperInvariant()} ({p.RiskReason})");
            facts.Add(("Prediction", string.Join("; ", parts)));
        }
        return facts;
    }

    private static string Title(Alert alert) => alert.RuleKind switch
    {
        IsoZoneRule.KindName => Zone(alert) is { } zone ? $"Vibration zone {zone}" : "Vibration",
        // One alert per problem: an ISO zone crossing escalates an open anomaly alert and leaves its explanation there.
        AnomalyScoreRule.KindName => Zone(alert) is { } zone and >= VibrationZone.C ? $"Vibration zone {zone}" : "Anomaly score",
        HealthStateRule.KindName => alert.Explanation.Prediction is { } p ? $"Health {p.Health}" : "Health state",
        FailureProbabilityRule.KindName => "Failure predicted",
        RulBelowRule.KindName => "Low remaining life",
        SensorLimitsRule.KindName => WithSensor("Limit exceeded", alert),
        MachineSilentRule.KindName => "Machine silent",
        DeviceOfflineRule.KindName => "Device offline",
        StuckSensorRule.KindName => WithSensor("Stuck sensor", alert),
        DroppedSensorRule.KindName => WithSensor("Dropped sensor", alert),
        RejectedMessagesRule.KindName => "Rejected messages",
        var other => other.Replace('_', ' '),
    };

    private static VibrationZone? Zone(Alert alert) =>
        alert.Explanation.Score?.IsoZone is { } zone and not VibrationZone.None ? zone : null;

    private static string WithSensor(string title, Alert alert) =>
        alert.Explanation.Sensors.Count > 0 ? $"{title}: {string.Join(", ", alert.Explanation.Sensors)}" : title;

    private static string SubjectName(Alert alert) => alert.Subject == RuleSubject.Device ? $"device {alert.SubjectId}" : alert.SubjectId;

    private static string Verb(AlertEvent e) => e.Type switch
    {
        AlertEventType.Opened => "opened",
        AlertEventType.Reopened => "reopened",
        AlertEventType.Escalated => e.PreviousSeverity is { } previous ? $"escalated from {Upper(previous)}" : "escalated",
        AlertEventType.Acknowledged => e.By is { } by ? $"acknowledged by {by}" : "acknowledged",
        AlertEventType.Resolved => e.By is { } by && by != AlertLifecycle.System ? $"resolved by {by}" : "resolved",
        AlertEventType.Commented => "commented",
        _ => "updated",
    };

    private static string Status(Alert alert)
    {
        var status = alert.Status.ToString().ToLowerInvariant() + (alert.Flapping ? " (flapping)" : "");
        return F($"{status}; opened {Time(alert.OpenedAt)}, last seen {Time(alert.LastSeenAt)}, {alert.Count} time{(alert.Count == 1 ? "" : "s")}, ")
            + F($"value {alert.Value:0.###}, peak {alert.Peak:0.###}");
    }

    private static string Upper(AlertSeverity severity) => severity.ToString().ToUpperInvariant();

    private static string Colour(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Critical => "#b00020",
        AlertSeverity.High => "#e65100",
        AlertSeverity.Medium => "#f9a825",
        _ => "#1565c0",
    };

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string H(string text) => WebUtility.HtmlEncode(text);
}
