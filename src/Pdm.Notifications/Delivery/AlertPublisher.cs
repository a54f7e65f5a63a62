using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pdm.Storage;

namespace Pdm.Notifications.Delivery;

/// <param name="Claimed">Outbox rows claimed.</param>
/// <param name="Published">Outbox rows published (with their deliveries).</param>
/// <param name="Deliveries">Delivery rows made.</param>
/// <param name="Kicked">Work messages sent: one per subscription with new deliveries, plus those the timer re-kicked.</param>
public sealed record PublishOutcome(int Claimed, int Published, int Deliveries, int Kicked)
{
    public static readonly PublishOutcome None = new(0, 0, 0, 0);

    public PublishOutcome Add(PublishOutcome other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Claimed + other.Claimed, Published + other.Published, Deliveries + other.Deliveries, Kicked + other.Kicked);
    }
}

/// <summary>
/// Publishes alert events from the outbox: each event is matched against its tenant's subscriptions (type, severity,
/// machine, machine kind), its delivery rows are inserted and the outbox row marked published in one transaction
/// (<see cref="WebhookDeliveryStore.PublishOutboxAsync"/>), and then one work message is enqueued per subscription that
/// got a delivery. A crash before the commit leaves the outbox row for the next run; a crash after it, before the
/// enqueue, leaves a pending delivery that <see cref="KickOverdueAsync"/> finds. Either way nothing is lost and no
/// delivery row is made twice.
/// </summary>
public sealed partial class AlertPublisher(
    WebhookDeliveryStore deliveries,
    SubscriptionStore subscriptions,
    DeliveryWorkSender queue,
    IOptions<WebhookDispatchOptions> options,
    ILogger<AlertPublisher> logger)
{
    private const int KickBatch = 1000;

    /// <summary>Publishes every unpublished outbox row (batch by batch) and enqueues the work. Call it right after a commit that wrote outbox rows.</summary>
    public async Task<PublishOutcome> PublishPendingAsync(CancellationToken cancellationToken)
    {
        var batch = options.Value.PublishBatchSize;
        var total = PublishOutcome.None;
        while (true)
        {
            var result = await deliveries.PublishOutboxAsync(batch, RouteAsync, cancellationToken);
            foreach (var head in result.Heads)
            {
                await queue.EnqueueAsync(head, TimeSpan.Zero, cancellationToken);
            }
            total = total.Add(new PublishOutcome(result.Claimed, result.Published, result.Deliveries, result.Heads.Count));
            // Fewer than a batch: the outbox is drained. None published: the rest cannot be (logged), so stop.
            if (result.Claimed < batch || result.Published == 0)
            {
                break;
            }
        }
        if (total.Claimed > 0)
        {
            logger.OutboxPublished(total.Published, total.Deliveries, total.Kicked);
        }
        return total;
    }

    /// <summary>
    /// Re-sends a work message for each subscription whose oldest pending delivery has been due longer than
    /// <see cref="WebhookDispatchOptions.OverdueAfter"/> with nobody delivering it. Returns how many were kicked.
    /// </summary>
    public async Task<int> KickOverdueAsync(CancellationToken cancellationToken)
    {
        var kicked = 0;
        IReadOnlyList<(Guid TenantId, Guid SubscriptionId)> overdue;
        do
        {
            overdue = await deliveries.KickOverdueAsync(options.Value.OverdueAfter, KickBatch, cancellationToken);
            foreach (var (tenantId, subscriptionId) in overdue)
            {
                if (await deliveries.HeadAsync(tenantId, subscriptionId, cancellationToken) is { } head)
                {
                    await queue.EnqueueAsync(head, TimeSpan.Zero, cancellationToken);
                    logger.OverdueSubscriptionKicked(tenantId, subscriptionId, head.EventId);
                    kicked++;
                }
            }
        }
        while (overdue.Count == KickBatch);
        return kicked;
    }

    /// <summary>
    /// Publishes right after a commit that wrote <paramref name="outboxRows"/> outbox rows, so alerts leave within
    /// the invocation that raised them. A failure here loses nothing (the rows stay in the outbox for the PublishAlerts
    /// timer), so it is logged, not thrown: the caller's own work is already committed.
    /// </summary>
    public async Task<PublishOutcome> PublishAfterCommitAsync(long outboxRows, CancellationToken cancellationToken)
    {
        if (outboxRows == 0)
        {
            return PublishOutcome.None;
        }
        try
        {
            return await PublishPendingAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.PublishAfterCommitFailed(outboxRows, ex.Message);
            return PublishOutcome.None;
        }
    }

    /// <summary>The timer's run: publish what is pending, then re-kick what was lost.</summary>
    public async Task<PublishOutcome> RunAsync(CancellationToken cancellationToken)
    {
        var published = await PublishPendingAsync(cancellationToken);
        var kicked = await KickOverdueAsync(cancellationToken);
        return published with { Kicked = published.Kicked + kicked };
    }

    /// <summary>Sends one turn for a subscription whose deliveries were just made pending again (a replay).</summary>
    public async Task<bool> KickAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken)
    {
        if (await deliveries.HeadAsync(tenantId, subscriptionId, cancellationToken) is not { } head)
        {
            return false;
        }
        await queue.EnqueueAsync(head, TimeSpan.Zero, cancellationToken);
        return true;
    }

    /// <summary>
    /// Where each row goes: per tenant, one read of its machines' kinds and one match of all its events against its
    /// subscriptions (per row, these were four round trips each, most of a 2,000-alert burst's publishing time).
    /// </summary>
    private async Task<IReadOnlyList<OutboxRouting?>> RouteAsync(IReadOnlyList<OutboxRow> rows, CancellationToken cancellationToken)
    {
        var routings = new OutboxRouting?[rows.Count];
        var envelopes = rows.Select(ReadEnvelope).ToArray();
        foreach (var tenant in Enumerable.Range(0, rows.Count).Where(i => envelopes[i] is not null).GroupBy(i => rows[i].TenantId))
        {
            var machines = tenant.Select(i => envelopes[i]!.MachineId).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var kinds = machines.Count == 0 ? [] : await deliveries.MachineKindsAsync(tenant.Key, machines, cancellationToken);
            var events = tenant.Select(i => envelopes[i]!).Select(e => new SubscriptionEvent(e.Type, e.Severity, e.MachineId,
                e.MachineId is { } id ? kinds.GetValueOrDefault(id) : null)).ToList();
            var matched = await subscriptions.MatchAsync(tenant.Key, events, cancellationToken);
            foreach (var (i, subscriptionIds) in tenant.Zip(matched))
            {
                routings[i] = new OutboxRouting(envelopes[i]!.Id, subscriptionIds);
            }
        }
        return routings;
    }

    /// <summary>What routing needs from the envelope; null (logged) when the row is not a routable alert event.</summary>
    private Envelope? ReadEnvelope(OutboxRow row)
    {
        try
        {
            using var document = JsonDocument.Parse(row.PayloadJson);
            var root = document.RootElement;
            var id = Text(root, "id");
            var tenant = Text(root, "tenant");
            if (!Guid.TryParse(tenant, out var tenantId) || tenantId != row.TenantId)
            {
                throw new FormatException($"tenant '{tenant}' is not the outbox row's tenant {row.TenantId:D}");
            }
            var alert = root.TryGetProperty("data", out var data) && data.TryGetProperty("alert", out var a)
                ? a
                : throw new FormatException("data.alert is missing");
            var subject = Text(alert, "subject");
            return new Envelope(id, Text(root, "type"), Text(alert, "severity"),
                string.Equals(subject, "Machine", StringComparison.OrdinalIgnoreCase) ? Text(alert, "subjectId") : null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            // Left unpublished: it is kept, and logged on every run until someone looks.
            logger.OutboxRowUnroutable(row.EventId, row.TenantId, ex.Message);
            return null;
        }
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new FormatException($"'{name}' is missing or not a string");

    private sealed record Envelope(string Id, string Type, string Severity, string? MachineId);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 10200, Level = LogLevel.Information,
        Message = "Outbox published: {Events} events, {Deliveries} deliveries, {Subscriptions} subscriptions kicked")]
    public static partial void OutboxPublished(this ILogger logger, int events, int deliveries, int subscriptions);

    [LoggerMessage(EventId = 10201, Level = LogLevel.Error,
        Message = "Outbox row {EventId} of tenant {TenantId} is not a routable alert event and stays unpublished: {Reason}")]
    public static partial void OutboxRowUnroutable(this ILogger logger, Guid eventId, Guid tenantId, string reason);

    [LoggerMessage(EventId = 10202, Level = LogLevel.Warning,
        Message = "Subscription {SubscriptionId} of tenant {TenantId} had an overdue delivery {EventId} and no worker: work message sent again")]
    public static partial void OverdueSubscriptionKicked(this ILogger logger, Guid tenantId, Guid subscriptionId, string eventId);

    [LoggerMessage(EventId = 10216, Level = LogLevel.Warning,
        Message = "Publishing {Rows} alert events right after their commit failed; the PublishAlerts timer publishes them: {Reason}")]
    public static partial void PublishAfterCommitFailed(this ILogger logger, long rows, string reason);
}
