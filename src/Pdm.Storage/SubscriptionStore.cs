using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>Which events a subscription receives; an empty list allows every value.</summary>
public sealed record SubscriptionFilters
{
    public static readonly SubscriptionFilters All = new();

    /// <summary>LOW, MEDIUM, HIGH, CRITICAL.</summary>
    public IReadOnlyList<string> Severities { get; init; } = [];

    /// <summary>alert.opened, alert.escalated, …</summary>
    public IReadOnlyList<string> EventTypes { get; init; } = [];

    /// <summary>Machine ids; a subscription that names machines receives no device alerts.</summary>
    public IReadOnlyList<string> Machines { get; init; } = [];

    /// <summary>Machine kinds (e.g. CentrifugalPump); like <see cref="Machines"/>, only machine alerts match.</summary>
    public IReadOnlyList<string> MachineKinds { get; init; } = [];
}

/// <summary>A webhook subscription as stored; the secrets are protected bytes (Pdm.Webhooks' protector), never clear text.</summary>
public sealed record WebhookSubscriptionRow
{
    public required Guid Id { get; init; }
    public required Guid TenantId { get; init; }
    public required string Url { get; init; }
    public string? Description { get; init; }
    public required SubscriptionFilters Filters { get; init; }
    public required byte[] Secret { get; init; }

    /// <summary>The secret before the last rotation, which still signs until <see cref="PreviousSecretValidUntil"/>.</summary>
    public byte[]? PreviousSecret { get; init; }

    public DateTimeOffset? PreviousSecretValidUntil { get; init; }
    public required bool Enabled { get; init; }

    /// <summary>Development only: deliveries may reach loopback addresses.</summary>
    public required bool AllowLoopback { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>What a caller sets on a subscription (create, or replace all of it but the secrets).</summary>
public sealed record WebhookSubscriptionSettings
{
    public required string Url { get; init; }
    public string? Description { get; init; }
    public SubscriptionFilters Filters { get; init; } = SubscriptionFilters.All;
    public bool Enabled { get; init; } = true;
    public bool AllowLoopback { get; init; }
}

/// <summary>What a subscription's filters are matched against. Device alerts have no machine and no kind.</summary>
public sealed record SubscriptionEvent(string EventType, string Severity, string? MachineId, string? MachineKind);

/// <summary>A delivery that failed its last try. <see cref="PayloadJson"/> is the body that was sent.</summary>
public sealed record WebhookDeadLetter(
    Guid Id,
    Guid SubscriptionId,
    string EventId,
    string PayloadJson,
    int Attempts,
    string LastError,
    DateTimeOffset DeadLetteredAt,
    DateTimeOffset? ReplayedAt);

/// <summary>
/// Each tenant's webhook subscriptions (filters, protected secrets with rotation) and the deliveries that ended in
/// dead letters. Delivery itself is Pdm.Webhooks'; this is what it reads and records.
/// </summary>
public sealed class SubscriptionStore(NpgsqlDataSource dataSource)
{
    private const string SubscriptionColumns = "id, tenant_id, url, description, " +
        "ARRAY(SELECT jsonb_array_elements_text(coalesce(filters->'severities', '[]'))), " +
        "ARRAY(SELECT jsonb_array_elements_text(coalesce(filters->'eventTypes', '[]'))), " +
        "ARRAY(SELECT jsonb_array_elements_text(coalesce(filters->'machines', '[]'))), " +
        "ARRAY(SELECT jsonb_array_elements_text(coalesce(filters->'machineKinds', '[]'))), " +
        "secret, previous_secret, previous_secret_valid_until, enabled, allow_loopback, created_at, updated_at";

    // $n placeholders of the four filter lists, as the filters document.
    private static string FiltersJson(int first) =>
        $"jsonb_build_object('severities', to_jsonb(${first}::text[]), 'eventTypes', to_jsonb(${first + 1}::text[]), " +
        $"'machines', to_jsonb(${first + 2}::text[]), 'machineKinds', to_jsonb(${first + 3}::text[]))";

    private const string DeadLetterColumns =
        "id, subscription_id, event_id, payload::text, attempts, last_error, dead_lettered_at, replayed_at";

    /// <param name="protectedSecret">The signing secret as the protector sealed it.</param>
    public async Task<WebhookSubscriptionRow> CreateAsync(Guid tenantId, WebhookSubscriptionSettings settings, byte[] protectedSecret,
        CancellationToken cancellationToken)
    {
        Validate(settings);
        if (protectedSecret is not { Length: > 0 })
        {
            throw new ArgumentException("protectedSecret: must not be empty.", nameof(protectedSecret));
        }
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var insert = Command(connection, transaction, $"""
                INSERT INTO pdm.webhook_subscriptions (tenant_id, url, description, filters, secret, enabled, allow_loopback)
                VALUES ($1, $2, $3, {FiltersJson(4)}, $8, $9, $10)
                RETURNING {SubscriptionColumns}
                """, [tenantId, settings.Url, settings.Description, .. FilterValues(settings.Filters), protectedSecret, settings.Enabled,
                settings.AllowLoopback]);
            return (await ReadFirstAsync(insert, MapSubscription, cancellationToken))!;
        }, cancellationToken);
    }

    /// <summary>
    /// Creates the subscription under an id the caller chose, so its secret can be protected bound to that id before
    /// the row exists (the protector authenticates the subscription id as context).
    /// </summary>
    public async Task<WebhookSubscriptionRow> CreateAsync(Guid tenantId, Guid subscriptionId, WebhookSubscriptionSettings settings,
        byte[] protectedSecret, CancellationToken cancellationToken)
    {
        Validate(settings);
        if (protectedSecret is not { Length: > 0 })
        {
            throw new ArgumentException("protectedSecret: must not be empty.", nameof(protectedSecret));
        }
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var insert = Command(connection, transaction, $"""
                INSERT INTO pdm.webhook_subscriptions (id, tenant_id, url, description, filters, secret, enabled, allow_loopback)
                VALUES ($1, $2, $3, $4, {FiltersJson(5)}, $9, $10, $11)
                RETURNING {SubscriptionColumns}
                """, [subscriptionId, tenantId, settings.Url, settings.Description, .. FilterValues(settings.Filters), protectedSecret,
                settings.Enabled, settings.AllowLoopback]);
            return (await ReadFirstAsync(insert, MapSubscription, cancellationToken))!;
        }, cancellationToken);
    }

    public Task<WebhookSubscriptionRow?> GetAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                $"SELECT {SubscriptionColumns} FROM pdm.webhook_subscriptions WHERE id = $1", subscriptionId);
            return await ReadFirstAsync(select, MapSubscription, cancellationToken);
        }, cancellationToken);

    /// <summary>The tenant's subscriptions, oldest first.</summary>
    public async Task<IReadOnlyList<WebhookSubscriptionRow>> ListAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                $"SELECT {SubscriptionColumns} FROM pdm.webhook_subscriptions ORDER BY created_at, id");
            return await ReadAllAsync(select, MapSubscription, cancellationToken);
        }, cancellationToken);

    /// <summary>Replaces the subscription's settings (not its secrets); null when the tenant has no such subscription.</summary>
    public async Task<WebhookSubscriptionRow?> UpdateAsync(Guid tenantId, Guid subscriptionId, WebhookSubscriptionSettings settings,
        CancellationToken cancellationToken)
    {
        Validate(settings);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction, $"""
                UPDATE pdm.webhook_subscriptions SET url = $2, description = $3, filters = {FiltersJson(4)}, enabled = $8,
                    allow_loopback = $9, updated_at = now()
                WHERE id = $1
                RETURNING {SubscriptionColumns}
                """, [subscriptionId, settings.Url, settings.Description, .. FilterValues(settings.Filters), settings.Enabled,
                settings.AllowLoopback]);
            return await ReadFirstAsync(update, MapSubscription, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Makes <paramref name="newProtectedSecret"/> the signing secret; the current one keeps signing too until
    /// <paramref name="previousValidUntil"/> (receivers switch meanwhile). Null when there is no such subscription.
    /// </summary>
    public async Task<WebhookSubscriptionRow?> RotateSecretAsync(Guid tenantId, Guid subscriptionId, byte[] newProtectedSecret,
        DateTimeOffset previousValidUntil, CancellationToken cancellationToken)
    {
        if (newProtectedSecret is not { Length: > 0 })
        {
            throw new ArgumentException("newProtectedSecret: must not be empty.", nameof(newProtectedSecret));
        }
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction, $"""
                UPDATE pdm.webhook_subscriptions SET previous_secret = secret, previous_secret_valid_until = $3, secret = $2,
                    updated_at = now()
                WHERE id = $1
                RETURNING {SubscriptionColumns}
                """, subscriptionId, newProtectedSecret, previousValidUntil.ToUniversalTime());
            return await ReadFirstAsync(update, MapSubscription, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Deletes the subscription and its dead letters; false when there is no such subscription.</summary>
    public Task<bool> DeleteAsync(Guid tenantId, Guid subscriptionId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var delete = Command(connection, transaction, "DELETE FROM pdm.webhook_subscriptions WHERE id = $1", subscriptionId);
            return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <summary>
    /// For each of <paramref name="events"/>, in order: the ids of the tenant's enabled subscriptions whose filters allow
    /// it, oldest first. One statement for the lot (the publisher routes a batch of outbox rows at once).
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<Guid>>> MatchAsync(Guid tenantId, IReadOnlyList<SubscriptionEvent> events,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(e.EventType);
            ArgumentException.ThrowIfNullOrWhiteSpace(e.Severity);
        }
        var matches = events.Select(_ => new List<Guid>()).ToArray();
        if (events.Count == 0)
        {
            return matches;
        }
        return await dataSource.InTenantAsync<IReadOnlyList<IReadOnlyList<Guid>>>(tenantId, async (connection, transaction) =>
        {
            // A missing or empty list allows all; a null value (a device alert's machine) matches no non-empty list.
            await using var select = Command(connection, transaction, $"""
                SELECT e.n, s.id
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e (severity, event_type, machine_id, machine_kind, n)
                JOIN pdm.webhook_subscriptions s ON s.enabled
                    AND {Allows("severities", "e.severity")} AND {Allows("eventTypes", "e.event_type")}
                    AND {Allows("machines", "e.machine_id")} AND {Allows("machineKinds", "e.machine_kind")}
                ORDER BY e.n, s.created_at, s.id
                """, events.Select(e => e.Severity).ToArray(), events.Select(e => e.EventType).ToArray(),
                events.Select(e => e.MachineId).ToArray(), events.Select(e => e.MachineKind).ToArray());
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                matches[reader.GetInt64(0) - 1].Add(reader.GetGuid(1));
            }
            return matches;
        }, cancellationToken);

        static string Allows(string list, string value) =>
            $"coalesce(coalesce(jsonb_array_length(s.filters->'{list}'), 0) = 0 OR s.filters->'{list}' @> to_jsonb({value}), false)";
    }

    /// <summary>
    /// Records a delivery that failed its last try. The same delivery dead-lettered again (a replay that failed
    /// too) updates its row and makes it pending again.
    /// </summary>
    public async Task<WebhookDeadLetter> AddDeadLetterAsync(Guid tenantId, Guid subscriptionId, string eventId, string payloadJson,
        int attempts, string lastError, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventId);
        ArgumentException.ThrowIfNullOrWhiteSpace(payloadJson);
        ArgumentException.ThrowIfNullOrWhiteSpace(lastError);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(attempts);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var insert = Command(connection, transaction, $"""
                INSERT INTO pdm.webhook_dead_letters (tenant_id, subscription_id, event_id, payload, attempts, last_error)
                VALUES ($1, $2, $3, $4::json, $5, $6)
                ON CONFLICT (subscription_id, event_id) DO UPDATE SET attempts = pdm.webhook_dead_letters.attempts + excluded.attempts,
                    last_error = excluded.last_error, dead_lettered_at = now(), replayed_at = NULL
                RETURNING {DeadLetterColumns}
                """, tenantId, subscriptionId, eventId, payloadJson, attempts, lastError);
            return (await ReadFirstAsync(insert, MapDeadLetter, cancellationToken))!;
        }, cancellationToken);
    }

    /// <summary>The tenant's dead letters, latest first; of one subscription when given, only those not replayed when <paramref name="pendingOnly"/>.</summary>
    public Task<IReadOnlyList<WebhookDeadLetter>> ListDeadLettersAsync(Guid tenantId, Guid? subscriptionId, bool pendingOnly,
        int limit, CancellationToken cancellationToken) =>
        ListDeadLettersAsync(tenantId, subscriptionId, pendingOnly, new PageRequest { Limit = limit }, cancellationToken);

    /// <summary>A page of them, latest first (by time, then id), dead-lettered in [From, To).</summary>
    public async Task<IReadOnlyList<WebhookDeadLetter>> ListDeadLettersAsync(Guid tenantId, Guid? subscriptionId, bool pendingOnly,
        PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction, $"""
                SELECT {DeadLetterColumns} FROM pdm.webhook_dead_letters
                WHERE ($1::uuid IS NULL OR subscription_id = $1) AND (replayed_at IS NULL OR NOT $2)
                  AND ($3::timestamptz IS NULL OR dead_lettered_at >= $3) AND ($4::timestamptz IS NULL OR dead_lettered_at < $4)
                  AND ($5::timestamptz IS NULL OR (dead_lettered_at, id) < ($5, $6::uuid))
                ORDER BY dead_lettered_at DESC, id DESC
                LIMIT $7
                """, subscriptionId, pendingOnly, page.From, page.To, page.AfterAt, page.AfterId, page.Limit);
            return await ReadAllAsync(select, MapDeadLetter, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Marks dead letters replayed and returns those marked now, with the bodies to send again. Idempotent: one
    /// already replayed (by a concurrent request too) is not returned, so each replay is queued once.
    /// </summary>
    public async Task<IReadOnlyList<WebhookDeadLetter>> MarkReplayedAsync(Guid tenantId, IReadOnlyCollection<Guid> deadLetterIds,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetterIds);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var update = Command(connection, transaction, $"""
                UPDATE pdm.webhook_dead_letters SET replayed_at = now()
                WHERE id = ANY($1) AND replayed_at IS NULL
                RETURNING {DeadLetterColumns}
                """, deadLetterIds.ToArray());
            return await ReadAllAsync(update, MapDeadLetter, cancellationToken);
        }, cancellationToken);
    }

    private static void Validate(WebhookSubscriptionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // mailto: with one or more addresses, comma separated, is the e-mail channel (migration 0008).
        if (settings.Url?.StartsWith("mailto:", StringComparison.Ordinal) == true)
        {
            var addresses = settings.Url["mailto:".Length..].Split('?')[0].Split(',', StringSplitOptions.TrimEntries);
            if (addresses.FirstOrDefault(a => !System.Net.Mail.MailAddress.TryCreate(Uri.UnescapeDataString(a), out _)) is { } bad)
            {
                throw new ArgumentException($"url: '{bad}' in '{settings.Url}' is not an e-mail address.", nameof(settings));
            }
        }
        else if (!Uri.TryCreate(settings.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            throw new ArgumentException($"url: must be an absolute http(s) URL or a mailto: address, got '{settings.Url}'.", nameof(settings));
        }
        ArgumentNullException.ThrowIfNull(settings.Filters);
    }

    private static object[] FilterValues(SubscriptionFilters filters) =>
        [filters.Severities.ToArray(), filters.EventTypes.ToArray(), filters.Machines.ToArray(), filters.MachineKinds.ToArray()];

    private static WebhookSubscriptionRow MapSubscription(NpgsqlDataReader r) => new()
    {
        Id = r.GetGuid(0),
        TenantId = r.GetGuid(1),
        Url = r.GetString(2),
        Description = NullableString(r, 3),
        Filters = new SubscriptionFilters
        {
            Severities = r.GetFieldValue<string[]>(4),
            EventTypes = r.GetFieldValue<string[]>(5),
            Machines = r.GetFieldValue<string[]>(6),
            MachineKinds = r.GetFieldValue<string[]>(7),
        },
        Secret = r.GetFieldValue<byte[]>(8),
        PreviousSecret = r.IsDBNull(9) ? null : r.GetFieldValue<byte[]>(9),
        PreviousSecretValidUntil = NullableValue<DateTimeOffset>(r, 10),
        Enabled = r.GetBoolean(11),
        AllowLoopback = r.GetBoolean(12),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(13),
        UpdatedAt = r.GetFieldValue<DateTimeOffset>(14),
    };

    private static WebhookDeadLetter MapDeadLetter(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetString(5),
            r.GetFieldValue<DateTimeOffset>(6), NullableValue<DateTimeOffset>(r, 7));
}
