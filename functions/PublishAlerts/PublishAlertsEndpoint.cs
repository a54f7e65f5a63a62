using Pdm.Functions.Invocation;
using Pdm.Notifications.Delivery;

namespace Pdm.Functions.PublishAlerts;

/// <summary>
/// Timer: publishes what is left in the alert outbox (Ingest and Predict publish right after their commit; this
/// catches a process that died in between) and re-sends the work message of any subscription whose delivery is
/// overdue with nobody working on it.
/// </summary>
internal static class PublishAlertsEndpoint
{
    public static void MapPublishAlerts(this IEndpointRouteBuilder app) =>
        app.MapPost("/PublishAlerts", async (AlertPublisher publisher, CancellationToken cancellationToken) =>
        {
            var outcome = await publisher.RunAsync(cancellationToken);
            var summary = $"published events={outcome.Published} deliveries={outcome.Deliveries} kicked={outcome.Kicked}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
