using Azure.Storage.Queues;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Notifications.Delivery;

/// <summary>
/// The Storage queue DeliverWebhook is triggered by. A message asks for the next turn of one subscription; it names the
/// subscription's oldest pending delivery, but the worker always sends what the database holds, in the database's
/// order, so a stale or duplicate message can only cause a turn that finds nothing to do.
/// </summary>
public sealed class DeliveryWorkSender
{
    private readonly QueueClient _queue;
    private volatile bool _created;

    /// <param name="queue">A client with base64 message encoding, as the Functions queue trigger expects (<see cref="Pdm.AzureStorage.StorageClients"/> makes them so).</param>
    public DeliveryWorkSender(QueueClient queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _queue = queue;
    }

    public string Name => _queue.Name;

    /// <summary>Asks for a turn of <paramref name="head"/>'s subscription, visible after <paramref name="delay"/>.</summary>
    public async Task EnqueueAsync(WebhookDeliveryRow head, TimeSpan delay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(head);
        await EnsureCreatedAsync(cancellationToken);
        await _queue.SendMessageAsync(Text(head), visibilityTimeout: delay, cancellationToken: cancellationToken);
    }

    /// <summary>The message for <paramref name="head"/>: a JSON object (never a bare string the host could take for base64).</summary>
    public static WebhookDeliveryMessage Message(WebhookDeliveryRow head)
    {
        ArgumentNullException.ThrowIfNull(head);
        return new WebhookDeliveryMessage
        {
            EventId = head.EventId,
            SubscriptionId = head.SubscriptionId.ToString("D"),
            Tenant = head.TenantId.ToString("D"),
            Attempt = head.Attempts + 1,
            Body = head.Body,
        };
    }

    private static string Text(WebhookDeliveryRow head)
    {
        var message = Message(head);
        try
        {
            return message.ToQueueText();
        }
        catch (ArgumentException) when (message.Body.Length > 1024)
        {
            // Too big for a queue message (64 KiB): the worker sends the stored body anyway, so the message only points at it.
            return (message with { Body = "{}" }).ToQueueText();
        }
    }

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        // Two senders racing here both ask; creating an existing queue is a no-op.
        if (!_created)
        {
            await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _created = true;
        }
    }
}
