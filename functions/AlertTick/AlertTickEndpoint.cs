using Pdm.Alerts.Persistence;
using Pdm.Functions.Invocation;
using Pdm.Notifications.Delivery;

namespace Pdm.Functions.AlertTick;

/// <summary>Timer: the alert rules that need the clock (silent machines, offline devices) and quiet periods that ended.</summary>
internal static class AlertTickEndpoint
{
    public static void MapAlertTick(this IEndpointRouteBuilder app) =>
        app.MapPost("/AlertTick", async (AlertTicker ticker, AlertPublisher publisher, CancellationToken cancellationToken) =>
        {
            var outcome = await ticker.RunAsync(cancellationToken);
            var published = await publisher.PublishAfterCommitAsync(outcome.Outbox, cancellationToken);
            var summary = $"alert tick tenants={outcome.Tenants} failed={outcome.Failed} events={outcome.Events} outbox={outcome.Outbox} published={published.Published}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
