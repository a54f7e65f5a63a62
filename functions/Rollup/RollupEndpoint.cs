using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pdm.Functions.Invocation;
using Pdm.Storage;

namespace Pdm.Functions.Rollup;

/// <summary>Settings of the Rollup timer (<c>Pdm__Rollup__...</c>).</summary>
public sealed class RollupOptions
{
    public const string Section = "Pdm:Rollup";

    /// <summary>Pending spans one transaction claims (a span is one machine's values of one ingest write).</summary>
    [Range(1, 1_000_000)] public int SpansPerRun { get; set; } = RollupStore.DefaultSpansPerRun;

    /// <summary>How long one invocation keeps claiming while spans are left; keep it below the schedule's period.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")] public TimeSpan Budget { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// Timer: rolls up what ingest stored since the last run (per-minute and per-hour min, max, mean and count per sensor,
/// and the anomaly scores'), a transaction per batch of pending spans, until none is left or the budget is spent.
/// </summary>
internal static class RollupEndpoint
{
    public static void MapRollup(this IEndpointRouteBuilder app) =>
        app.MapPost("/Rollup", async (RollupStore rollups, IOptions<RollupOptions> options, TimeProvider clock,
            CancellationToken cancellationToken) =>
        {
            var settings = options.Value;
            var (spans, ranges, minutes) = await rollups.RollUpWhilePendingAsync(settings.SpansPerRun, settings.Budget, clock,
                cancellationToken);
            var summary = $"rollup spans={spans} ranges={ranges} minutes={minutes}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
