using System.ComponentModel.DataAnnotations;
using Pdm.Alerts.Lifecycle;

namespace Pdm.Functions;

/// <summary>How alerts resolve themselves and when they count as flapping (environment variables <c>Pdm__Alerts__QuietPeriod</c> and so on).</summary>
public sealed class AlertSettings : IValidatableObject
{
    public const string Section = "Pdm:Alerts";

    /// <summary>How long a rule must stay clear before its alert resolves itself (by the AlertTick timer).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")] public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The quiet period of alerts on a machine's condition (anomaly score, ISO zone).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")] public TimeSpan ConditionQuietPeriod { get; set; } = TimeSpan.FromHours(6);

    /// <summary>A rule firing again within this window after its alert resolved reopens it instead of opening a new one.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")] public TimeSpan FlappingWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>More reopenings than this within the flapping window mark the alert flapping.</summary>
    [Range(0, 1000)] public int MaxReopenings { get; set; } = 3;

    public AlertPolicy ToPolicy() => new() { QuietPeriod = QuietPeriod, ConditionQuietPeriod = ConditionQuietPeriod, FlappingWindow = FlappingWindow, MaxReopenings = MaxReopenings };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ToPolicy().Validate() is { } problem)
        {
            yield return new ValidationResult($"Pdm__Alerts: {problem}", [nameof(FlappingWindow)]);
        }
    }
}
