using System.Text.Json;
using Pdm.Alerts;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Health;
using Pdm.Telemetry;
using Pdm.Webhooks;

namespace Pdm.Notifications.Tests.Email;

/// <summary>Alert events as the lifecycle makes them, wrapped in the webhook envelope the outbox stores.</summary>
internal static class AlertEvents
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
    public static readonly Guid AlertId = Guid.Parse("01959a1e-3a6f-7c2b-8d4e-5f6a7b8c9d0e");

    public static AlertEvent VibrationZoneD(AlertEventType type = AlertEventType.Opened, AlertSeverity severity = AlertSeverity.High,
        AlertSeverity? previous = null, string? by = null, string? comment = null) => new()
    {
        Id = Guid.CreateVersion7(T0),
        Type = type,
        At = T0,
        Notifies = AlertEvent.IsNotifying(type),
        PreviousSeverity = previous,
        By = by,
        Comment = comment,
        Alert = new Alert
        {
            Id = AlertId,
            Subject = RuleSubject.Machine,
            SubjectId = "PUMP_001",
            RuleId = "vibration",
            RuleKind = IsoZoneRule.KindName,
            Status = type == AlertEventType.Resolved ? AlertStatus.Resolved : AlertStatus.Open,
            Severity = severity,
            OpenedAt = T0.AddMinutes(-3),
            LastSeenAt = T0,
            Count = 3,
            Value = 7.4,
            Peak = 7.9,
            Worse = WorseWhen.Higher,
            Firing = true,
            Explanation = new AlertExplanation
            {
                Summary = "vibration_rms 7.40 mm/s: ISO 10816 zone D",
                Sensors = ["vibration_rms"],
                Score = new ScoreSnapshot
                {
                    At = T0,
                    Score = 0.81,
                    Threshold = 0.5,
                    IsolationForest = 0.4,
                    Statistical = 0.3,
                    Temporal = 0.11,
                    IsoZone = VibrationZone.D,
                    Model = "pump-v3",
                    TopSensors = [new SensorShare("vibration_rms", 0.7), new SensorShare("bearing_temp", 0.2)],
                },
                Prediction = new PredictionSnapshot
                {
                    At = T0.AddMinutes(-1),
                    Health = "DEGRADED",
                    RulHours = 12,
                    RulP10Hours = 8,
                    RulP90Hours = 15.5,
                    FailureProbability24h = 0.62,
                    FailureProbability48h = 0.8,
                    Risk = RiskLevel.High,
                    RiskReason = "failure within 24 h ≥ 0.5",
                },
            },
        },
    };

    public static string Envelope(AlertEvent alertEvent, string tenant = "demo") => new WebhookEvent
    {
        Id = WebhookEvent.NewId(alertEvent.At),
        Type = alertEvent.Type switch
        {
            AlertEventType.Escalated => "alert.escalated",
            AlertEventType.Resolved => "alert.resolved",
            AlertEventType.Acknowledged => "alert.acknowledged",
            _ => "alert.opened",
        },
        Timestamp = alertEvent.At,
        Tenant = tenant,
        Data = JsonSerializer.SerializeToElement(alertEvent, AlertsJson.Default.AlertEvent),
    }.Serialize();
}
