using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>One event to one subscription, as stored. <see cref="Body"/> is the envelope exactly as the outbox held it.</summary>
public sealed record WebhookDeliveryRow(
    Guid Id,
    long OrderKey,
    Guid TenantId,
    Guid SubscriptionId,
    string EventId,
    string Body,
    string State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt);

/// <summary>Where one outbox row goes: its envelope id (the webhook-id) and the subscriptions its filters matched.</summary>
public sealed record OutboxRouting(string EventId, IReadOnlyList<Guid> SubscriptionIds);

/// <param name="Claimed">Outbox rows claimed.</param>
/// <param name="Published">Outbox rows marked published (their deliveries committed with them).</param>
/// <param name="Deliveries">Delivery rows made (a row already there from an earlier run is not made twice).</param>
/// <param name="Heads">The oldest pending delivery of each subscription that got a new one: what to enqueue a work message for.</param>
public sealed record OutboxPublishResult(int Claimed, int Published, int Deliveries, IReadOnlyList<WebhookDeliveryRow> Heads);

/// <summary>
/// The worker's view of a subscription at the start of a turn.
/// </summary>
/// <param name="LeaseHeld">This worker holds the subscription's lease; false: another worker is delivering it, or it is disabled or gone.</param>
/// <param name="Head">The oldest pending delivery, or null when none is pending.</param>
/// <param name="Due">The head may be attempted now (its retry delay has passed).</param>
/// <param name="DueIn">Time until the head is due (zero when due).</param>
/// <param name="Behind">Due pending deliveries after the head, in order (as many as the turn asked for).</param>
public sealed record DeliveryTurn(bool LeaseHeld, WebhookDeliveryRow? Head, bool Due, TimeSpan DueIn)
{
    public IReadOnlyList<WebhookDeliveryRow> Behind { get; init; } = [];
}

/// <summary>
/// Per-subscription, ordered webhook and e-mail deliveries (migration 0008): the outbox publisher turns outbox rows into
/// delivery rows in the transaction that marks them published; a worker leases a subscription, delivers its pending
/// rows in order and records each outcome; dead letters are made and replayed here in one transaction with the row.
/// </summary>
public sealed class WebhookDeliveryStore(NpgsqlDataSource dataSource)
{
    // "pdm_pub!" as a 64-bit advisory lock key: one publisher at a time, so order_key follows publish order.
    private const long PublishLockKey = 0x70646D5F70756221;
    private static readonly TimeSpan LockPatience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(20);

    private const string DeliveryColumns =
        "id, order_key, tenant_id, subscription_id, event_id, body::text, state, attempts, next_attempt_at, last_error, created_at, delivered_at";

    // A message may become visible a moment before the database's clock says the head is due.
    private const string DueTolerance = "interval '1 second'";

    /// <summary>
    /// Claims up to <paramref name="limit"/> unpublished outbox rows of every tenant, oldest first, asks
    /// <paramref name="route"/> where each goes (all claimed rows in one call, answered in their order), and in ONE
    /// transaction inserts the delivery rows and marks the routed outbox rows published. A crash anywhere before the
    /// commit leaves both as they were; a row routed to no subscription is published with no deliveries. A row
    /// <paramref name="route"/> answers null for (not an envelope) stays unpublished. Publishers run one at a time (a
    /// transaction-scoped advisory lock); one that waits longer than a few seconds for it returns nothing claimed (the
    /// busy publisher, the next call or the timer publishes the rows).
    /// </summary>
    public async Task<OutboxPublishResult> PublishOutboxAsync(int limit,
        Func<IReadOnlyList<OutboxRow>, CancellationToken, Task<IReadOnlyList<OutboxRouting?>>> route,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentNullException.ThrowIfNull(route);
        // Wait for the lock without holding a connection: the holder needs more of the pool (route matches on its own
        // connections), and waiters that each held one could exhaust it.
        var deadline = DateTimeOffset.UtcNow + LockPatience;
        NpgsqlConnection connection;
        NpgsqlTransaction transaction;
        while (true)
        {
            connection = await dataSource.OpenConnectionAsync(cancellationToken);
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var lockCommand = Command(connection, transaction, "SELECT pg_try_advisory_xact_lock($1)", PublishLockKey))
            {
                if ((bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!)
                {
                    break;
                }
            }
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
            if (DateTimeOffset.UtcNow > deadline)
            {
                // Another publisher has been busy all along; what it did not take, the next call or the timer takes.
                return new OutboxPublishResult(0, 0, 0, []);
            }
            await Task.Delay(LockRetryDelay, cancellationToken);
        }
        await using var ownedConnection = connection;
        await using var ownedTransaction = transaction;
        await using var claim = Command(connection, transaction,
            "SELECT event_id, tenant_id, payload, created_at FROM pdm.claim_alert_outbox($1, NULL)", limit);
        var rows = await ReadAllAsync(claim, r => new OutboxRow(r.GetGuid(0), r.GetGuid(1), r.GetString(2),
            r.GetFieldValue<DateTimeOffset>(3)), cancellationToken);
        if (rows.Count == 0)
        {
            return new OutboxPublishResult(0, 0, 0, []);
        }

        var published = new List<Guid>();
        var byTenant = new Dictionary<Guid, List<(OutboxRow Row, OutboxRouting Routing)>>();
        var routings = await route(rows, cancellationToken);
        if (routings.Count != rows.Count)
        {
            throw new InvalidOperationException($"Routing answered {routings.Count} rows for {rows.Count} claimed.");
        }
        foreach (var (row, routed) in rows.Zip(routings))
        {
            if (routed is not { } routing)
            {
                continue;
            }
            published.Add(row.EventId);
            if (!byTenant.TryGetValue(row.TenantId, out var list))
            {
                byTenant[row.TenantId] = list = [];
            }
            list.Add((row, routing));
        }

        var inserted = 0;
        var heads = new List<WebhookDeliveryRow>();
        foreach (var (tenantId, routed) in byTenant)
        {
            // The transaction serves every tenant: each tenant's rows are written with that tenant set, so row-level
            // security checks them as it checks any tenant write.
            await SetTenantAsync(connection, transaction, tenantId, cancellationToken);
            var subscriptions = new List<Guid>();
            var events = new List<string>();
            var bodies = new List<string>();
            foreach (var (row, routing) in routed)
            {
                foreach (var subscription in routing.SubscriptionIds.Distinct())
                {
                    subscriptions.Add(subscription);
                    events.Add(routing.EventId);
                    bodies.Add(row.PayloadJson);
                }
            }
            if (subscriptions.Count == 0)
            {
                continue;
            }
            // WITH ORDINALITY: order_key is drawn in the outbox's order. A subscription deleted since matching drops out.
            await using var insert = Command(connection, transaction, """
                INSERT INTO pdm.webhook_deliveries (tenant_id, subscription_id, event_id, body)
                SELECT $1, d.subscription_id, d.event_id, d.body::json
                FROM unnest($2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS d (subscription_id, event_id, body, n)
                WHERE EXISTS (SELECT 1 FROM pdm.webhook_subscriptions s WHERE s.id = d.subscription_id)
                ORDER BY d.n
                ON CONFLICT (subscription_id, event_id) DO NOTHING
                """, tenantId, subscriptions.ToArray(), events.ToArray(), bodies.ToArray());
            inserted += await insert.ExecuteNonQueryAsync(cancellationToken);
            await using var head = Command(connection, transaction, $"""
                SELECT DISTINCT ON (subscription_id) {DeliveryColumns} FROM pdm.webhook_deliveries
                WHERE subscription_id = ANY($1) AND state = 'pending'
                ORDER BY subscription_id, order_key
                """, subscriptions.Distinct().ToArray());
            heads.AddRange(await ReadAllAsync(head, MapDelivery, cancellationToken));
        }

        await using var mark = Command(connection, transaction, "SELECT pdm.mark_alert_outbox_published($1)", published.ToArray());
        var marked = (int)(await mark.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new OutboxPublishResult(rows.Count, marked, inserted, heads);
    }

    /// <summary>The kinds of those of <paramref name="machineIds"/> that are known and have one (for subscription filters).</summary>
    public Task<Dictionary<string, string>> MachineKindsAsync(Guid tenantId, IReadOnlyCollection<string> machineIds,
        CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                "SELECT machine_id, kind FROM pdm.machines WHERE machine_id = ANY($1) AND kind IS NOT NULL", (object)machineIds.ToArray());
            return (await ReadAllAsync(select, r => (Id: r.GetString(0), Kind: r.GetString(1)), cancellationToken))
                .ToDictionary(m => m.Id, m => m.Kind, StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>
    /// Takes (or renews) the subscription's delivery lease for <paramref name="lease"/> and reads its oldest pending
    /// delivery, with up to <paramref name="behind"/> due ones after it. Not held when another worker's lease is live,
    /// or the subscription is disabled or gone.
    /// </summary>
    public Task<DeliveryTurn> TakeTurnAsync(Guid tenantId, Guid subscriptionId, Guid owner, TimeSpan lease, CancellationToken cancellationToken,
        int behind = 0) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var take = Command(connection, transaction, """
                UPDATE pdm.webhook_subscriptions SET delivery_lease_owner = $2, delivery_lease_until = now() + $3
                WHERE id = $1 AND enabled
                    AND (delivery_lease_until IS NULL OR delivery_lease_until < now() OR delivery_lease_owner = $2)
                """, subscriptionId, owner, lease);
            if (await take.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return new DeliveryTurn(false, null, false, TimeSpan.Zero);
            }
            await using var head = Command(connection, transaction, $"""
                SELECT {DeliveryColumns}, next_attempt_at <= now() + {DueTolerance}, greatest(next_attempt_at - now(), interval '0')
                FROM pdm.webhook_deliveries
                WHERE subscription_id = $1 AND state = 'pending'
                ORDER BY order_key
                LIMIT $2
                """, subscriptionId, 1 + behind);
            await using var reader = await head.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new DeliveryTurn(true, null, false, TimeSpan.Zero);
            }
            var turn = new DeliveryTurn(true, MapDelivery(reader), reader.GetBoolean(12), reader.GetFieldValue<TimeSpan>(13));
            var next = new List<WebhookDeliveryRow>();
            while (await reader.ReadAsync(cancellationToken) && reader.GetBoolean(12))
            {
                next.Add(MapDelivery(reader));
            }
            return turn with { Behind = next };
        }, cancellationToken);

    /// <summary>
    /// Gives the lease back. Returns true when, after that, a due pending delivery waits (published while this worker
    /// was finishing): the caller takes another turn, so no event waits for the timer.
    /// </summary>
    public Task<bool> ReleaseAsync(Guid tenantId, Guid subscriptionId, Guid owner, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var release = Command(connection, transaction, """
                UPDATE pdm.webhook_subscriptions SET delivery_lease_owner = NULL, delivery_lease_until = NULL
                WHERE id = $1 AND delivery_lease_owner = $2
                """, subscriptionId, owner);
            await release.ExecuteNonQueryAsync(cancellationToken);
            await using var due = Command(connection, transaction, $"""
                SELECT EXISTS (SELECT 1 FROM pdm.webhook_subscriptions s WHERE s.id = $1 AND s.enabled)
                    AND coalesce((SELECT next_attempt_at <= now() + {DueTolerance} FROM pdm.webhook_deliveries
                        WHERE subscription_id = $1 AND state = 'pending' ORDER BY order_key LIMIT 1), false)
                """, subscriptionId);
            return (bool)(await due.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);

    /// <summary>The delivery reached its receiver: it is done after <paramref name="attempts"/> attempts.</summary>
    public Task MarkDeliveredAsync(Guid tenantId, Guid deliveryId, int attempts, CancellationToken cancellationToken) =>
        UpdateAsync(tenantId, """
            UPDATE pdm.webhook_deliveries SET state = 'delivered', attempts = $2, delivered_at = now(), last_error = NULL
            WHERE id = $1 AND state = 'pending'
            """, cancellationToken, deliveryId, attempts);

    /// <summary>Deliveries that reached their receiver, in one statement: each is done after its number of attempts.</summary>
    public Task MarkDeliveredAsync(Guid tenantId, IReadOnlyList<(Guid Id, int Attempts)> delivered, CancellationToken cancellationToken) =>
        UpdateAsync(tenantId, """
            UPDATE pdm.webhook_deliveries w SET state = 'delivered', attempts = d.attempts, delivered_at = now(), last_error = NULL
            FROM unnest($1::uuid[], $2::integer[]) AS d (id, attempts)
            WHERE w.id = d.id AND w.state = 'pending'
            """, cancellationToken, delivered.Select(d => d.Id).ToArray(), delivered.Select(d => d.Attempts).ToArray());

    /// <summary>The delivery failed and waits <paramref name="delay"/> before its next attempt; the subscription's later deliveries wait behind it.</summary>
    public Task ScheduleRetryAsync(Guid tenantId, Guid deliveryId, int attempts, TimeSpan delay, string error, CancellationToken cancellationToken) =>
        UpdateAsync(tenantId, """
            UPDATE pdm.webhook_deliveries SET attempts = $2, next_attempt_at = now() + $3, last_error = $4
            WHERE id = $1 AND state = 'pending'
            """, cancellationToken, deliveryId, attempts, delay, error);

    /// <summary>
    /// The delivery failed its last attempt: marks it dead and records the dead letter, in one transaction (a dead
    /// letter replayed before and failing again is updated and pending again, as <see cref="SubscriptionStore.AddDeadLetterAsync"/> does).
    /// Null when the delivery is no longer pending (another worker finished it).
    /// </summary>
    public async Task<WebhookDeadLetter?> DeadLetterAsync(Guid tenantId, Guid deliveryId, int attempts, string error, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(error);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(attempts);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var dead = Command(connection, transaction, """
                WITH dead AS (
                    UPDATE pdm.webhook_deliveries SET state = 'dead', attempts = $2, last_error = $3
                    WHERE id = $1 AND state = 'pending'
                    RETURNING tenant_id, subscription_id, event_id, body)
                INSERT INTO pdm.webhook_dead_letters (tenant_id, subscription_id, event_id, payload, attempts, last_error)
                SELECT tenant_id, subscription_id, event_id, body, $2, $3 FROM dead
                ON CONFLICT (subscription_id, event_id) DO UPDATE SET attempts = pdm.webhook_dead_letters.attempts + excluded.attempts,
                    last_error = excluded.last_error, dead_lettered_at = now(), replayed_at = NULL
                RETURNING id, subscription_id, event_id, payload::text, attempts, last_error, dead_lettered_at, replayed_at
                """, deliveryId, attempts, error);
            return await ReadFirstAsync(dead, MapDeadLetter, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Disables the subscription (its receiver answered 410 Gone), keeping the reason for the API. False when it is gone.</summary>
    public Task<bool> DisableAsync(Guid tenantId, Guid subscriptionId, string reason, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction, """
                UPDATE pdm.webhook_subscriptions SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1
                """, subscriptionId, reason);
            return await update.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <summary>Why delivery disabled the subscription, or null (enabled, never disabled by delivery, or unknown).</summary>
    public Task<string?> DisabledReasonAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                "SELECT disabled_reason FROM pdm.webhook_subscriptions WHERE id = $1 AND NOT enabled", subscriptionId);
            return await select.ExecuteScalarAsync(cancellationToken) as string;
        }, cancellationToken);

    /// <summary>The subscription's oldest pending delivery, or null.</summary>
    public Task<WebhookDeliveryRow?> HeadAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction, $"""
                SELECT {DeliveryColumns} FROM pdm.webhook_deliveries
                WHERE subscription_id = $1 AND state = 'pending' ORDER BY order_key LIMIT 1
                """, subscriptionId);
            return await ReadFirstAsync(select, MapDelivery, cancellationToken);
        }, cancellationToken);

    /// <summary>The subscription's deliveries in order (every state), for tests and operators.</summary>
    public async Task<IReadOnlyList<WebhookDeliveryRow>> ListAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                $"SELECT {DeliveryColumns} FROM pdm.webhook_deliveries WHERE subscription_id = $1 ORDER BY order_key", subscriptionId);
            return await ReadAllAsync(select, MapDelivery, cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Every tenant's enabled subscriptions whose oldest pending delivery has been due for longer than
    /// <paramref name="overdue"/> with no live lease: their work message was lost. Each is returned once per
    /// <paramref name="overdue"/> (the head's due time moves to now).
    /// </summary>
    public async Task<IReadOnlyList<(Guid TenantId, Guid SubscriptionId)>> KickOverdueAsync(TimeSpan overdue, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(overdue, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = dataSource.PlatformCommand(
            "SELECT tenant_id, subscription_id FROM pdm.kick_overdue_webhook_deliveries($1, $2)", overdue, limit);
        return await ReadAllAsync(command, r => (r.GetGuid(0), r.GetGuid(1)), cancellationToken);
    }

    /// <summary>
    /// Replays dead letters: marks them replayed and puts their deliveries back as pending with fresh attempts, in one
    /// transaction. <paramref name="deadLetterIds"/> null: every pending dead letter of the tenant (of
    /// <paramref name="subscriptionId"/> when given). Returns those replayed now; one already replayed is not returned,
    /// so concurrent replays queue each delivery once.
    /// </summary>
    public async Task<IReadOnlyList<WebhookDeadLetter>> ReplayDeadLettersAsync(Guid tenantId, IReadOnlyCollection<Guid>? deadLetterIds,
        Guid? subscriptionId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var replay = Command(connection, transaction, """
                WITH replayed AS (
                    UPDATE pdm.webhook_dead_letters SET replayed_at = now()
                    WHERE replayed_at IS NULL AND ($1::uuid[] IS NULL OR id = ANY($1)) AND ($2::uuid IS NULL OR subscription_id = $2)
                    RETURNING id, tenant_id, subscription_id, event_id, payload, attempts, last_error, dead_lettered_at, replayed_at),
                -- Runs whether or not the query below reads it (a data-modifying WITH always does).
                requeued AS (
                    INSERT INTO pdm.webhook_deliveries (tenant_id, subscription_id, event_id, body)
                    SELECT tenant_id, subscription_id, event_id, payload FROM replayed
                    ON CONFLICT (subscription_id, event_id) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = now(),
                        last_error = NULL, delivered_at = NULL
                    RETURNING 1)
                SELECT id, subscription_id, event_id, payload::text, attempts, last_error, dead_lettered_at, replayed_at
                FROM replayed
                ORDER BY dead_lettered_at, id
                """, deadLetterIds?.ToArray(), subscriptionId);
            return await ReadAllAsync(replay, MapDeadLetter, cancellationToken);
        }, cancellationToken);

    private Task<int> UpdateAsync(Guid tenantId, string sql, CancellationToken cancellationToken, params object?[] values) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction, sql, values);
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static WebhookDeliveryRow MapDelivery(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetInt64(1), r.GetGuid(2), r.GetGuid(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt32(7),
            r.GetFieldValue<DateTimeOffset>(8), NullableString(r, 9), r.GetFieldValue<DateTimeOffset>(10), NullableValue<DateTimeOffset>(r, 11));

    private static WebhookDeadLetter MapDeadLetter(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetString(5),
            r.GetFieldValue<DateTimeOffset>(6), NullableValue<DateTimeOffset>(r, 7));
}
