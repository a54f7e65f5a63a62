using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>
/// Alerts in PostgreSQL: each tenant's rule set (with a revision for optimistic concurrency), the evaluation state of
/// each machine or device, the alerts with the events of their transitions, and the outbox those events are published
/// from. Evaluations run inside the transaction of what they evaluate: ingest passes a <see cref="TenantAlerter"/> to
/// <see cref="ReadingStore.WriteReadingsAsync(IReadOnlyList{TenantBatch}, TenantScorer?, TenantAlerter?, CancellationToken)"/>,
/// which evaluates in the transaction of the readings and scores; Predict and the timer use <see cref="EvaluateAsync"/>.
/// </summary>
public sealed class AlertStore(NpgsqlDataSource dataSource)
{
    private const string AlertColumns = "id, subject_kind, subject_id, rule_id, rule_kind, severity, status, flapping, count, " +
        "opened_at, last_seen_at, value, peak, lower_is_worse, firing, cleared_at, reopenings, explanation::text, " +
        "acknowledged_by, acknowledged_at, acknowledged_comment, resolved_by, resolved_at, resolved_comment";

    /// <summary>The audit log's actor of transitions the rules made (events without an actor).</summary>
    public const string RulesActor = "rules";

    private const string SubjectsMatch =
        "(subject_kind, subject_id) IN (SELECT k, i FROM unnest($2::text[], $3::text[]) AS s (k, i))";

    /// <summary>The tenant's rule set, or null when it has none (it then uses the defaults).</summary>
    public Task<AlertRuleSetRow?> GetRuleSetAsync(Guid tenantId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, (connection, transaction) =>
            ReadRuleSetAsync(connection, transaction, cancellationToken), cancellationToken);

    /// <summary>
    /// Saves the tenant's rule set if its stored revision is still <paramref name="expectedRevision"/> (0: the tenant
    /// has none yet). The saved revision is the expected one + 1. A stale revision saves nothing and returns a
    /// conflict with the stored revision.
    /// </summary>
    /// <param name="documentJson">The rule set as RuleSetJson writes it (a JSON object).</param>
    /// <param name="updatedBy">Who saved it (an API key's name, "system" for the defaults).</param>
    public async Task<RuleSetSaveResult> SaveRuleSetAsync(Guid tenantId, string documentJson, long expectedRevision,
        string updatedBy, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(documentJson);
        ArgumentException.ThrowIfNullOrWhiteSpace(updatedBy);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRevision);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var write = expectedRevision == 0
                ? Command(connection, transaction, """
                    INSERT INTO pdm.alert_rule_sets (tenant_id, document, revision, updated_by) VALUES ($1, $2::jsonb, 1, $3)
                    ON CONFLICT (tenant_id) DO NOTHING
                    RETURNING document::text, revision, updated_at, updated_by
                    """, tenantId, documentJson, updatedBy)
                : Command(connection, transaction, """
                    UPDATE pdm.alert_rule_sets SET document = $2::jsonb, revision = revision + 1, updated_at = now(), updated_by = $3
                    WHERE tenant_id = $1 AND revision = $4
                    RETURNING document::text, revision, updated_at, updated_by
                    """, tenantId, documentJson, updatedBy, expectedRevision);
            if (await ReadFirstAsync(write, MapRuleSet, cancellationToken) is { } saved)
            {
                return new RuleSetSaveResult(saved, saved.Revision);
            }
            var current = await ReadRuleSetAsync(connection, transaction, cancellationToken);
            return new RuleSetSaveResult(null, current?.Revision ?? 0);
        }, cancellationToken);
    }

    /// <summary>
    /// Evaluates the tenant's <paramref name="subjects"/> in a transaction of its own: their states and latest alerts
    /// are read under row locks, handed to <paramref name="alert"/>, and what it returns is written before the commit
    /// (Predict, the silence timer).
    /// </summary>
    public async Task<AlertWriteResult> EvaluateAsync(Guid tenantId, IReadOnlyCollection<AlertSubject> subjects, TenantAlerter alert,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        ArgumentNullException.ThrowIfNull(alert);
        return await dataSource.InTenantAsync(tenantId, (connection, transaction) =>
            EvaluateTenantAsync(connection, transaction, tenantId, subjects, alert, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Evaluates, in one transaction, every subject of the tenant that has an evaluation state or an unresolved alert:
    /// the clock's tick (silence, offline devices, quiet periods ending).
    /// </summary>
    public async Task<AlertWriteResult> EvaluateWatchedAsync(Guid tenantId, TenantAlerter alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction, """
                SELECT subject_kind, subject_id FROM pdm.alert_states
                UNION SELECT subject_kind, subject_id FROM pdm.alerts WHERE status <> 'resolved'
                """);
            var subjects = await ReadAllAsync(select,
                r => new AlertSubject(AlertSubject.ParseKind(r.GetString(0)), r.GetString(1)), cancellationToken);
            return await EvaluateTenantAsync(connection, transaction, tenantId, subjects, alert, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Evaluates the tenant's subjects on the caller's connection and transaction, which the tenant is already set
    /// on: reads the snapshot under FOR UPDATE (so two instances never evaluate a subject from the same state), calls
    /// <paramref name="alert"/> and writes what it returns. Nothing commits here.
    /// </summary>
    internal static async Task<AlertWriteResult> EvaluateTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, IReadOnlyCollection<AlertSubject> subjects, TenantAlerter alert, CancellationToken cancellationToken)
    {
        var snapshot = await ReadSnapshotAsync(connection, transaction, tenantId, subjects, cancellationToken);
        var write = alert(tenantId, snapshot);
        return await ApplyAsync(connection, transaction, tenantId, write, cancellationToken);
    }

    /// <summary>
    /// The rule set, the subjects' states, their latest alert per rule and the machines' kinds and devices, in one
    /// round trip; states and alerts are locked until the transaction ends. A subject without a state row gets an
    /// empty one first (ON CONFLICT DO NOTHING), so even its first evaluation holds a row lock: a second transaction
    /// evaluating it waits here, then sees what the first wrote, and never opens the same alert twice. Empty states are
    /// left out of <see cref="AlertSnapshot.States"/>.
    /// </summary>
    internal static async Task<AlertSnapshot> ReadSnapshotAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, IReadOnlyCollection<AlertSubject> subjects, CancellationToken cancellationToken)
    {
        if (subjects.Count == 0)
        {
            return new AlertSnapshot(await ReadRuleSetAsync(connection, transaction, cancellationToken),
                new Dictionary<AlertSubject, byte[]>(), []);
        }
        var kinds = new string[subjects.Count];
        var ids = new string[subjects.Count];
        var machineIds = new List<string>();
        var n = 0;
        foreach (var subject in subjects)
        {
            (kinds[n], ids[n]) = (subject.KindText, subject.Id);
            n++;
            if (subject.Kind == AlertSubjectKind.Machine)
            {
                machineIds.Add(subject.Id);
            }
        }
        await using var batch = new NpgsqlBatch(connection, transaction);
        // Key order (the primary key's "C" collation) everywhere, so transactions locking overlapping subjects cannot deadlock.
        batch.BatchCommands.Add(BatchCommand("""
            INSERT INTO pdm.alert_states (tenant_id, subject_kind, subject_id, state)
            SELECT $1, k, i, '\x'::bytea FROM unnest($2::text[], $3::text[]) AS s (k, i) ORDER BY k, i COLLATE "C"
            ON CONFLICT (tenant_id, subject_kind, subject_id) DO NOTHING
            """, tenantId, kinds, ids));
        batch.BatchCommands.Add(BatchCommand("SELECT document::text, revision, updated_at, updated_by FROM pdm.alert_rule_sets"));
        batch.BatchCommands.Add(BatchCommand($"""
            SELECT subject_kind, subject_id, state FROM pdm.alert_states
            WHERE tenant_id = $1 AND {SubjectsMatch}
            ORDER BY subject_kind, subject_id FOR UPDATE
            """, tenantId, kinds, ids));
        // DISTINCT ON cannot lock, so the latest ids are chosen first and their rows locked around them.
        batch.BatchCommands.Add(BatchCommand($"""
            SELECT {AlertColumns} FROM pdm.alerts WHERE id IN (
                SELECT DISTINCT ON (subject_kind, subject_id, rule_id) id FROM pdm.alerts
                WHERE tenant_id = $1 AND {SubjectsMatch}
                ORDER BY subject_kind, subject_id, rule_id, opened_at DESC, id DESC)
            ORDER BY subject_kind, subject_id, rule_id FOR UPDATE
            """, tenantId, kinds, ids));
        batch.BatchCommands.Add(BatchCommand(
            "SELECT machine_id, kind, first_seen_by_device FROM pdm.machines WHERE tenant_id = $1 AND machine_id = ANY($2)",
            tenantId, machineIds.ToArray()));

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var ruleSet = await reader.ReadAsync(cancellationToken) ? MapRuleSet(reader) : null;
        await reader.NextResultAsync(cancellationToken);
        var states = new Dictionary<AlertSubject, byte[]>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var state = reader.GetFieldValue<byte[]>(2);
            if (state.Length > 0)
            {
                states[new AlertSubject(AlertSubject.ParseKind(reader.GetString(0)), reader.GetString(1))] = state;
            }
        }
        await reader.NextResultAsync(cancellationToken);
        var latest = new List<AlertRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            latest.Add(MapAlert(reader));
        }
        await reader.NextResultAsync(cancellationToken);
        var machines = new Dictionary<string, AlertMachine>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            machines[reader.GetString(0)] = new AlertMachine(NullableString(reader, 1), NullableString(reader, 2));
        }
        return new AlertSnapshot(ruleSet, states, latest) { Machines = machines };
    }

    /// <summary>
    /// Writes an evaluation's or operator action's results on the caller's transaction: states upserted, alerts
    /// inserted or updated by id, then events (each also in pdm.audit_log: actor, event type, <c>alert/{id}</c>) and
    /// outbox rows inserted. A second unresolved alert for a (subject,
    /// rule) fails on the unique index (SQLSTATE 23505): the lifecycle must update the one there is.
    /// </summary>
    internal static async Task<AlertWriteResult> ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, AlertWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var state in write.States)
        {
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.alert_states (tenant_id, subject_kind, subject_id, state) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, subject_kind, subject_id) DO UPDATE SET state = excluded.state, updated_at = now()
                """, tenantId, state.Subject.KindText, state.Subject.Id, state.State));
        }
        // Updates before inserts: a resolved alert and the new one of the same rule may arrive in one write.
        foreach (var a in write.Alerts.OrderBy(a => a.Status == "resolved" ? 0 : 1))
        {
            batch.BatchCommands.Add(BatchCommand($"""
                INSERT INTO pdm.alerts (tenant_id, {AlertColumns.Replace("::text", "", StringComparison.Ordinal)})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19::jsonb, $20, $21,
                    $22, $23, $24, $25)
                ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, status = excluded.status,
                    flapping = excluded.flapping, count = excluded.count, last_seen_at = excluded.last_seen_at,
                    value = excluded.value, peak = excluded.peak, firing = excluded.firing, cleared_at = excluded.cleared_at,
                    reopenings = excluded.reopenings, explanation = excluded.explanation,
                    acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at,
                    acknowledged_comment = excluded.acknowledged_comment, resolved_by = excluded.resolved_by,
                    resolved_at = excluded.resolved_at, resolved_comment = excluded.resolved_comment, updated_at = now()
                WHERE pdm.alerts.subject_kind = excluded.subject_kind AND pdm.alerts.subject_id = excluded.subject_id
                    AND pdm.alerts.rule_id = excluded.rule_id
                """, tenantId, a.Id, a.Subject.KindText, a.Subject.Id, a.RuleId, a.RuleKind, a.Severity, a.Status, a.Flapping,
                a.Count, a.OpenedAt.ToUniversalTime(), a.LastSeenAt.ToUniversalTime(), a.Value, a.Peak, a.LowerIsWorse, a.Firing,
                a.ClearedAt?.ToUniversalTime(), a.Reopenings.Select(t => t.ToUniversalTime()).ToArray(), a.ExplanationJson,
                a.AcknowledgedBy, a.AcknowledgedAt?.ToUniversalTime(), a.AcknowledgedComment, a.ResolvedBy,
                a.ResolvedAt?.ToUniversalTime(), a.ResolvedComment));
        }
        foreach (var e in write.Events)
        {
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.alert_events (id, tenant_id, alert_id, type, at, actor, payload) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                """, e.Id, tenantId, e.AlertId, e.Type, e.At.ToUniversalTime(), e.Actor, e.PayloadJson));
            // The audit log names who did it: the operator, "system" (auto-resolve) or the rules themselves.
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.audit_log (tenant_id, at, actor, action, target, details)
                VALUES ($1, $2, $3, $4, $5, jsonb_build_object('event', $6::text))
                """, tenantId, e.At.ToUniversalTime(), e.Actor ?? RulesActor, e.Type, "alert/" + e.AlertId.ToString("D"),
                e.Id.ToString("D")));
        }
        foreach (var o in write.Outbox)
        {
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.alert_outbox (event_id, tenant_id, payload) VALUES ($1, $2, $3::json)
                """, o.EventId, tenantId, o.PayloadJson));
        }
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
            var alertRows = 0;
            for (var i = write.States.Count; i < write.States.Count + write.Alerts.Count; i++)
            {
                alertRows += batch.BatchCommands[i].RecordsAffected;
            }
            if (alertRows != write.Alerts.Count)
            {
                // The update's WHERE refused an id that names another subject or rule.
                throw new InvalidOperationException(
                    "An alert write changed an alert's subject or rule; an alert id always stays with its (subject, rule).");
            }
        }
        return new AlertWriteResult(write.States.Count, write.Alerts.Count, write.Events.Count, write.Outbox.Count);
    }

    /// <summary>
    /// An operator's action on one alert: the alert is read under FOR UPDATE (so it cannot interleave with an
    /// evaluation of its subject), handed to <paramref name="change"/>, and what it returns is written in the same
    /// transaction. False when the tenant has no such alert.
    /// </summary>
    public async Task<bool> UpdateAlertAsync(Guid tenantId, Guid alertId, Func<AlertRow, AlertWrite> change,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction,
                $"SELECT {AlertColumns} FROM pdm.alerts WHERE id = $1 FOR UPDATE", alertId);
            if (await ReadFirstAsync(select, MapAlert, cancellationToken) is not { } alert)
            {
                return false;
            }
            await ApplyAsync(connection, transaction, tenantId, change(alert), cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>One alert with its events (oldest first), or null when the tenant has no such alert.</summary>
    public Task<AlertDetail?> GetAlertAsync(Guid tenantId, Guid alertId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var select = Command(connection, transaction, $"SELECT {AlertColumns} FROM pdm.alerts WHERE id = $1", alertId);
            if (await ReadFirstAsync(select, MapAlert, cancellationToken) is not { } alert)
            {
                return null;
            }
            await using var events = Command(connection, transaction, """
                SELECT id, alert_id, type, at, actor, payload::text FROM pdm.alert_events WHERE alert_id = $1 ORDER BY at, id
                """, alertId);
            return new AlertDetail(alert, await ReadAllAsync(events, MapEvent, cancellationToken));
        }, cancellationToken);

    /// <summary>The tenant's alerts matching <paramref name="query"/>, latest activity first (last seen, then id), a page at a time.</summary>
    public async Task<AlertPage> ListAlertsAsync(Guid tenantId, AlertQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "limit: must be between 1 and 1000.");
        }
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // One more than asked, to know whether there is a next page.
            await using var select = Command(connection, transaction, $"""
                SELECT {AlertColumns} FROM pdm.alerts
                WHERE tenant_id = $1
                    AND (cardinality($2::text[]) = 0 OR status = ANY($2))
                    AND (cardinality($3::text[]) = 0 OR severity = ANY($3))
                    AND ($4::text IS NULL OR (subject_kind = $4 AND subject_id = $5))
                    AND ($6::text IS NULL OR rule_id = $6)
                    AND ($7::timestamptz IS NULL OR last_seen_at >= $7)
                    AND ($8::timestamptz IS NULL OR last_seen_at < $8)
                    AND ($9::timestamptz IS NULL OR (last_seen_at, id) < ($9, $10::uuid))
                ORDER BY last_seen_at DESC, id DESC
                LIMIT $11
                """, tenantId, query.Statuses.ToArray(), query.Severities.ToArray(), query.Subject?.KindText,
                query.Subject?.Id, query.RuleId, query.From?.ToUniversalTime(), query.To?.ToUniversalTime(),
                query.After?.LastSeenAt.ToUniversalTime(), query.After?.Id, query.Limit + 1);
            var rows = await ReadAllAsync(select, MapAlert, cancellationToken);
            if (rows.Count <= query.Limit)
            {
                return new AlertPage(rows, null);
            }
            rows.RemoveAt(rows.Count - 1);
            return new AlertPage(rows, new AlertCursor(rows[^1].LastSeenAt, rows[^1].Id));
        }, cancellationToken);
    }

    /// <summary>
    /// Claims up to <paramref name="limit"/> unpublished outbox rows, oldest first, of one tenant or (null) of all.
    /// The rows stay locked by the claim's transaction: a concurrent claim skips them, and they return to the
    /// pool when the claim is disposed without <see cref="OutboxClaim.CommitPublishedAsync"/> naming them.
    /// </summary>
    public async Task<OutboxClaim> ClaimOutboxAsync(int limit, Guid? tenantId, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var claim = Command(connection, transaction,
                "SELECT event_id, tenant_id, payload, created_at FROM pdm.claim_alert_outbox($1, $2)", limit, tenantId);
            var rows = await ReadAllAsync(claim, r => new OutboxRow(r.GetGuid(0), r.GetGuid(1), r.GetString(2),
                r.GetFieldValue<DateTimeOffset>(3)), cancellationToken);
            return new OutboxClaim(connection, transaction, rows);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Marks outbox rows published outside a claim; idempotent (rows already published are left alone). Returns how many were marked now.</summary>
    public async Task<int> MarkOutboxPublishedAsync(IReadOnlyCollection<Guid> eventIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eventIds);
        await using var command = dataSource.PlatformCommand("SELECT pdm.mark_alert_outbox_published($1)", eventIds.ToArray());
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<AlertRuleSetRow?> ReadRuleSetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        await using var select = Command(connection, transaction,
            "SELECT document::text, revision, updated_at, updated_by FROM pdm.alert_rule_sets");
        return await ReadFirstAsync(select, MapRuleSet, cancellationToken);
    }

    private static AlertRuleSetRow MapRuleSet(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2), r.GetString(3));

    private static AlertEventRow MapEvent(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3), NullableString(r, 4), r.GetString(5));

    private static AlertRow MapAlert(NpgsqlDataReader r) => new()
    {
        Id = r.GetGuid(0),
        Subject = new AlertSubject(AlertSubject.ParseKind(r.GetString(1)), r.GetString(2)),
        RuleId = r.GetString(3),
        RuleKind = r.GetString(4),
        Severity = r.GetString(5),
        Status = r.GetString(6),
        Flapping = r.GetBoolean(7),
        Count = r.GetInt32(8),
        OpenedAt = r.GetFieldValue<DateTimeOffset>(9),
        LastSeenAt = r.GetFieldValue<DateTimeOffset>(10),
        Value = r.GetDouble(11),
        Peak = r.GetDouble(12),
        LowerIsWorse = r.GetBoolean(13),
        Firing = r.GetBoolean(14),
        ClearedAt = NullableValue<DateTimeOffset>(r, 15),
        Reopenings = r.GetFieldValue<DateTime[]>(16).Select(t => new DateTimeOffset(t, TimeSpan.Zero)).ToArray(),
        ExplanationJson = r.GetString(17),
        AcknowledgedBy = NullableString(r, 18),
        AcknowledgedAt = NullableValue<DateTimeOffset>(r, 19),
        AcknowledgedComment = NullableString(r, 20),
        ResolvedBy = NullableString(r, 21),
        ResolvedAt = NullableValue<DateTimeOffset>(r, 22),
        ResolvedComment = NullableString(r, 23),
    };
}

/// <summary>
/// Outbox rows a publisher holds: locked until <see cref="CommitPublishedAsync"/> or disposal. Publish them (in
/// order), then commit naming those that were published; the others are released and claimed again later.
/// </summary>
public sealed class OutboxClaim : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    internal OutboxClaim(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<OutboxRow> rows)
    {
        _connection = connection;
        _transaction = transaction;
        Rows = rows;
    }

    public IReadOnlyList<OutboxRow> Rows { get; }

    /// <summary>Marks <paramref name="published"/> published and ends the claim. Returns how many were marked.</summary>
    public async Task<int> CommitPublishedAsync(IReadOnlyCollection<Guid> published, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(published);
        await using var mark = Command(_connection, _transaction, "SELECT pdm.mark_alert_outbox_published($1)", published.ToArray());
        var marked = (int)(await mark.ExecuteScalarAsync(cancellationToken))!;
        await _transaction.CommitAsync(cancellationToken);
        return marked;
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
