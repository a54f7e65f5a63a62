using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pdm.Functions.Invocation;
using Pdm.Storage;

namespace Pdm.Functions.Retention;

/// <summary>How long each table keeps its rows (<c>Pdm__Retention__Readings</c> and so on); whole partitions go.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Pdm:Retention";

    /// <summary>False keeps everything (the Retention timer then does nothing).</summary>
    public bool Enabled { get; set; } = true;

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")] public TimeSpan Readings { get; set; } = TimeSpan.FromDays(90);

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")] public TimeSpan Scores { get; set; } = TimeSpan.FromDays(90);

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")] public TimeSpan MinuteRollups { get; set; } = TimeSpan.FromDays(400);

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")] public TimeSpan HourRollups { get; set; } = TimeSpan.FromDays(1830);

    /// <summary>The period of each table, by its name.</summary>
    public IReadOnlyDictionary<string, TimeSpan> ByTable() => new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        [RetentionTables.Readings] = Readings,
        [RetentionTables.Scores] = Scores,
        [RetentionTables.ReadingRollups1m] = MinuteRollups,
        [RetentionTables.ScoreRollups1m] = MinuteRollups,
        [RetentionTables.ReadingRollups1h] = HourRollups,
        [RetentionTables.ScoreRollups1h] = HourRollups,
    };
}

/// <summary>Timer: drops the partitions every table's retention has passed.</summary>
internal static class RetentionEndpoint
{
    public static void MapRetention(this IEndpointRouteBuilder app) =>
        app.MapPost("/Retention", async (RetentionStore retention, IOptions<RetentionOptions> options, TimeProvider clock,
            CancellationToken cancellationToken) =>
        {
            if (!options.Value.Enabled)
            {
                return Results.Json(InvocationResponse.WithLogs("retention disabled"), InvocationJson.Default.InvocationResponse);
            }
            var dropped = await retention.ApplyAsync(options.Value.ByTable(), clock.GetUtcNow(), cancellationToken);
            var summary = "retention dropped " + string.Join(' ', dropped.Select(d => $"{d.Key}={d.Value.Count}"));
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
