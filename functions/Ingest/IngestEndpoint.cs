using System.Text.Json;
using Microsoft.Extensions.Options;
using Pdm.Functions.Invocation;
using Pdm.Ingest;
using Pdm.Notifications.Delivery;

namespace Pdm.Functions.Ingest;

/// <summary>The Event Hubs trigger on IoT Hub's built-in endpoint: a batch of device events per invocation.</summary>
internal static class IngestEndpoint
{
    /// <summary>The trigger binding's name in Ingest/function.json.</summary>
    public const string BindingName = "events";

    public static void MapIngest(this IEndpointRouteBuilder app) =>
        app.MapPost("/Ingest", async (HttpRequest request, IngestProcessor processor, AlertPublisher publisher, IOptions<FaultSettings> faults,
            CancellationToken cancellationToken) =>
        {
            using var invocation = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            var events = EventHubBatch.Read(invocation.RootElement, BindingName);
            var outcome = await processor.ProcessAsync(events, cancellationToken);
            if (outcome.AlertOutbox > 0 && faults.Value.CrashAfterAlertCommit)
            {
                Environment.FailFast("Pdm__Faults__CrashAfterAlertCommit: dying after the commit, before the publish (crash test)");
            }
            var published = await publisher.PublishAfterCommitAsync(outcome.AlertOutbox, cancellationToken);
            var summary = outcome switch
            {
                { DeadLetter: { } parked } => $"events={outcome.Events} parked as dead letter {parked}",
                { Quarantined: { } quarantined } => $"events={outcome.Events} quarantined as {quarantined}",
                _ => $"events={outcome.Events} samples={outcome.Samples} inserted={outcome.ValuesInserted} duplicates={outcome.ValuesDuplicate} rejected={outcome.RejectedMessages} alert_outbox={outcome.AlertOutbox} published={published.Published}",
            };
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });
}
