using System.ComponentModel.DataAnnotations;
using Pdm.Ingest;

namespace Pdm.Functions.Ingest;

/// <summary>Settings of ingest's safety nets (environment variables <c>Pdm__Ingest__RejectContainer</c> and so on).</summary>
public sealed class IngestSettings
{
    public const string Section = "Pdm:Ingest";

    /// <summary>Blob container for the originals of rejected messages whose text could not be stored whole.</summary>
    [Required] public string RejectContainer { get; set; } = "ingest-rejects";

    /// <summary>
    /// Health says "degraded" when a batch has been parked longer than this: longer than a replay interval means the
    /// replay could not store it. Keep it above the replay schedule's period.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")] public TimeSpan ParkedAlertAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A message body larger than this (bytes) is rejected without being decoded; IoT Hub's limit is 256 KB.</summary>
    [Range(1024, 64 * 1024 * 1024)] public int MaxBodyBytes { get; set; } = 256 * 1024;
}

/// <summary>The dead-letter backlog as <c>GET /api/health</c> shows it.</summary>
/// <param name="OldestParkedAgeSeconds">How long the oldest parked batch has waited; 0 when none is parked.</param>
internal sealed record DeadLetterReport(
    int Parked, DateTimeOffset? OldestParkedAt, double OldestParkedAgeSeconds, int Quarantined, DateTimeOffset? OldestQuarantinedAt)
{
    public static DeadLetterReport From(DeadLetterSummary summary, DateTimeOffset now) =>
        new(summary.Parked, summary.OldestParkedAt, Math.Round(summary.OldestParkedAge(now).TotalSeconds, 1),
            summary.Quarantined, summary.OldestQuarantinedAt);
}
