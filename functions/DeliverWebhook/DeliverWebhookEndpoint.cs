using System.Text.Json;
using Pdm.Functions.Invocation;
using Pdm.Notifications.Delivery;
using Pdm.Webhooks;

namespace Pdm.Functions.DeliverWebhook;

/// <summary>
/// Queue trigger: one turn of one subscription's ordered deliveries (<see cref="WebhookDispatcher"/>). A message that
/// cannot be read, and any failure of the database, queue or table, answers 500, so the host makes the message visible
/// again and moves it to the poison queue after maxDequeueCount (host.json); receivers' failures are results, retried
/// on the webhook schedule, not by the host.
/// </summary>
internal static class DeliverWebhookEndpoint
{
    /// <summary>The trigger binding's name in DeliverWebhook/function.json.</summary>
    public const string BindingName = "message";

    public static void MapDeliverWebhook(this IEndpointRouteBuilder app) =>
        app.MapPost("/DeliverWebhook", async (HttpRequest request, WebhookDispatcher dispatcher, CancellationToken cancellationToken) =>
        {
            using var invocation = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            var message = WebhookDeliveryMessage.Parse(MessageText(invocation.RootElement));
            var outcome = await dispatcher.DeliverAsync(message, cancellationToken);
            var summary = $"subscription={message.SubscriptionId} delivered={outcome.Delivered} deadLettered={outcome.DeadLettered} end={outcome.End}";
            return Results.Json(InvocationResponse.WithLogs(summary), InvocationJson.Default.InvocationResponse);
        });

    /// <summary>The queue message's text: the host passes a JSON message as a (JSON-encoded) string or as the object itself.</summary>
    internal static string MessageText(JsonElement invocation)
    {
        if (!invocation.TryGetProperty("Data", out var data) || !data.TryGetProperty(BindingName, out var raw))
        {
            throw new InvalidInvocationException($"Invocation has no Data.{BindingName}: DeliverWebhook/function.json names the trigger '{BindingName}'.");
        }
        return HostValue.AsText(HostValue.Unwrap(raw));
    }
}
