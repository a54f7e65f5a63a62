using System.Text.Json.Serialization;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;

namespace Pdm.Alerts;

/// <summary>
/// The JSON of everything this library hands to storage, queues and the API: rule sets, evaluation states, alerts and
/// their events. camelCase members, null members left out, enums by name (severities in capitals).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowOutOfOrderMetadataProperties = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(RuleSet))]
[JsonSerializable(typeof(AlertRule))]
[JsonSerializable(typeof(AlertEvaluationState))]
[JsonSerializable(typeof(Alert))]
[JsonSerializable(typeof(AlertEvent))]
[JsonSerializable(typeof(AlertExplanation))]
[JsonSerializable(typeof(AlertStatus))]
[JsonSerializable(typeof(AlertSeverity))]
[JsonSerializable(typeof(AlertEventType))]
public sealed partial class AlertsJson : JsonSerializerContext;
