using Pdm.Functions.Invocation;
using Pdm.Notifications.Delivery;
using Pdm.Prediction;

namespace Pdm.Functions.Predict;

/// <summary>Timer: health, remaining life, failure probabilities and risk for every machine that sends data.</summary>
internal static class PredictEndpoint
{
    public static void MapPredict(this IEndpointRouteBuilder app) =>
        app.MapPost("/Predict", async (FleetPredictor predictor, AlertPublisher publisher, CancellationToken cancellationToken) =>
        {
            var outcome = await predictor.RunAsync(cancellationToken);
            var published = await publisher.PublishAfterCommitAsync(outcome.AlertOutbox, cancellationToken);
            var summary = $"predicted machines={outcome.Predicted} failed={outcome.Failed} tenants={outcome.Tenants} alert_outbox={outcome.AlertOutbox} published={published.Published}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
