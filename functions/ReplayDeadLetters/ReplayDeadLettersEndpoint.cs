using Pdm.Functions.Invocation;
using Pdm.Ingest;

namespace Pdm.Functions.ReplayDeadLetters;

/// <summary>Timer: stores batches that were parked while the database was unavailable.</summary>
internal static class ReplayDeadLettersEndpoint
{
    public static void MapReplayDeadLetters(this IEndpointRouteBuilder app) =>
        app.MapPost("/ReplayDeadLetters", async (IngestProcessor processor, CancellationToken cancellationToken) =>
        {
            var outcome = await processor.ReplayDeadLettersAsync(cancellationToken);
            var summary = $"replayed batches={outcome.Batches} events={outcome.Events} remaining={outcome.Remaining} quarantined={outcome.Quarantined}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
