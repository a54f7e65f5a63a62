using Microsoft.Extensions.Logging;
using Npgsql;
using Pdm.Telemetry;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>The time span and sensors of one machine's values that a write stored and the rollups do not cover yet.</summary>
public sealed record RollupSpan(Guid TenantId, string MachineId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Sensors);

/// <summary>What one rollup run did.</summary>
/// <param name="Spans">Pending spans claimed.</param>
/// <param name="Ranges">Machine time ranges recomputed (after merging nearby spans).</param>
/// <param name="MinuteBuckets">Per-minute sensor buckets written.</param>
public readonly record struct RollupResult(int Spans, int Ranges, long MinuteBuckets);

/// <summary>
/// The per-minute and per-hour rollups of readings and anomaly scores. Ingest notes what it stored
/// (<see cref="NotePendingAsync"/>, in its own transaction); <see cref="RollUpPendingAsync"/> (the Rollup timer) claims
/// those notes and recomputes every touched minute from the raw rows and every touched hour from its minutes.
/// Recomputing rather than adding makes a run idempotent and late or replayed values simply land in their bucket.
/// </summary>
public sealed class RollupStore(NpgsqlDataSource dataSource, ILogger<RollupStore> logger)
{
    /// <summary>Pending spans one run claims unless configured (the Rollup timer's <c>Pdm__Rollup__SpansPerRun</c>).</summary>
    public const int DefaultSpansPerRun = 5000;

    // Spans of one machine closer than this are recomputed as one range (fewer statements, little extra reading).
    private static readonly TimeSpan MergeGap = TimeSpan.FromMinutes(10);

    // Rollup partitions are made for months within this window around now; anything else lands in DEFAULT.
    private const int PartitionDaysBehind = 800;
    private const int PartitionDaysAhead = 7;

    // Serializes runs: two runs recomputing one bucket from different snapshots could leave the older answer last.
    private const long RunLockKey = 0x5044_4D52_4F4C_4C55; // "PDMROLLU"

    private const string NotePendingSql = """
        INSERT INTO pdm.rollup_pending (tenant_id, machine_id, from_ts, to_ts, sensors)
        SELECT $1, p.machine_id, p.from_ts, p.to_ts, string_to_array(p.sensors, ',')
        FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[]) AS p (machine_id, from_ts, to_ts, sensors)
        """;

    // The recomputations take a tenant's ranges as arrays (machine, from, to, comma-joined sensors), so one run is
    // four statements per tenant however many machines it touched. A machine's minute ranges never share a minute and
    // its hour ranges never share an hour (see HourRanges), so no statement updates a bucket twice.
    private const string RangesSql = "unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[]) AS s (machine_id, from_ts, to_ts, sensors)";

    private const string ReadingMinutesSql = $"""
        INSERT INTO pdm.reading_rollups_1m AS r (tenant_id, machine_id, bucket, sensor, min, max, mean, count)
        SELECT $1, s.machine_id, date_trunc('minute', v.ts), v.sensor, min(v.value), max(v.value), avg(v.value), count(*)
        FROM {RangesSql}
        CROSS JOIN LATERAL (
            SELECT ts, sensor, value FROM pdm.readings
            WHERE machine_id = s.machine_id AND sensor = ANY(string_to_array(s.sensors, ',')) AND ts >= s.from_ts AND ts < s.to_ts) v
        GROUP BY s.machine_id, date_trunc('minute', v.ts), v.sensor
        ON CONFLICT (tenant_id, machine_id, bucket, sensor) DO UPDATE
        SET min = excluded.min, max = excluded.max, mean = excluded.mean, count = excluded.count
        WHERE (r.min, r.max, r.mean, r.count) IS DISTINCT FROM (excluded.min, excluded.max, excluded.mean, excluded.count)
        """;

    private const string ReadingHoursSql = $"""
        INSERT INTO pdm.reading_rollups_1h AS r (tenant_id, machine_id, bucket, sensor, min, max, mean, count, minutes)
        SELECT $1, s.machine_id, date_trunc('hour', m.bucket), m.sensor, min(m.min), max(m.max), sum(m.mean * m.count) / sum(m.count),
               sum(m.count), count(*)
        FROM {RangesSql}
        CROSS JOIN LATERAL (
            SELECT bucket, sensor, min, max, mean, count FROM pdm.reading_rollups_1m
            WHERE machine_id = s.machine_id AND sensor = ANY(string_to_array(s.sensors, ',')) AND bucket >= s.from_ts AND bucket < s.to_ts) m
        GROUP BY s.machine_id, date_trunc('hour', m.bucket), m.sensor
        ON CONFLICT (tenant_id, machine_id, bucket, sensor) DO UPDATE
        SET min = excluded.min, max = excluded.max, mean = excluded.mean, count = excluded.count, minutes = excluded.minutes
        WHERE (r.min, r.max, r.mean, r.count, r.minutes)
            IS DISTINCT FROM (excluded.min, excluded.max, excluded.mean, excluded.count, excluded.minutes)
        """;

    private const string ScoreMinutesSql = $"""
        INSERT INTO pdm.score_rollups_1m AS r (tenant_id, machine_id, bucket, max_score, mean_score, anomalies, count)
        SELECT $1, s.machine_id, date_trunc('minute', v.ts), max(v.score), avg(v.score), count(*) FILTER (WHERE v.anomaly), count(*)
        FROM {RangesSql}
        CROSS JOIN LATERAL (
            SELECT ts, score, anomaly FROM pdm.anomaly_scores WHERE machine_id = s.machine_id AND ts >= s.from_ts AND ts < s.to_ts) v
        GROUP BY s.machine_id, date_trunc('minute', v.ts)
        ON CONFLICT (tenant_id, machine_id, bucket) DO UPDATE
        SET max_score = excluded.max_score, mean_score = excluded.mean_score, anomalies = excluded.anomalies, count = excluded.count
        """;

    private const string ScoreHoursSql = $"""
        INSERT INTO pdm.score_rollups_1h AS r (tenant_id, machine_id, bucket, max_score, mean_score, anomalies, count)
        SELECT $1, s.machine_id, date_trunc('hour', m.bucket), max(m.max_score), sum(m.mean_score * m.count) / sum(m.count),
               sum(m.anomalies), sum(m.count)
        FROM {RangesSql}
        CROSS JOIN LATERAL (
            SELECT bucket, max_score, mean_score, anomalies, count FROM pdm.score_rollups_1m
            WHERE machine_id = s.machine_id AND bucket >= s.from_ts AND bucket < s.to_ts) m
        GROUP BY s.machine_id, date_trunc('hour', m.bucket)
        ON CONFLICT (tenant_id, machine_id, bucket) DO UPDATE
        SET max_score = excluded.max_score, mean_score = excluded.mean_score, anomalies = excluded.anomalies, count = excluded.count
        """;

    private const string LastSeenSql = """
        INSERT INTO pdm.machine_activity AS a (tenant_id, machine_id, last_seen)
        SELECT $1, machine_id, last_seen FROM unnest($2::text[], $3::timestamptz[]) AS l (machine_id, last_seen)
        ON CONFLICT (tenant_id, machine_id) DO UPDATE SET last_seen = excluded.last_seen
        WHERE a.last_seen < excluded.last_seen
        """;

    private static readonly string[] RollupTables = ["reading_rollups_1m", "reading_rollups_1h", "score_rollups_1m", "score_rollups_1h"];

    /// <summary>
    /// Ingest's note of what a write stored for one tenant: per machine, the span of its timestamps and its sensors.
    /// One small insert in the caller's transaction, so the note commits (or not) with the values.
    /// </summary>
    public static async Task NotePendingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        IEnumerable<MachineSample> samples, CancellationToken cancellationToken)
    {
        var spans = new Dictionary<string, (DateTimeOffset From, DateTimeOffset To, HashSet<string> Sensors)>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            if (!spans.TryGetValue(sample.MachineId, out var span))
            {
                span = (sample.Timestamp, sample.Timestamp, new HashSet<string>(StringComparer.Ordinal));
            }
            foreach (var value in sample.Values)
            {
                span.Sensors.Add(value.Sensor);
            }
            spans[sample.MachineId] = (sample.Timestamp < span.From ? sample.Timestamp : span.From,
                sample.Timestamp > span.To ? sample.Timestamp : span.To, span.Sensors);
        }
        if (spans.Count == 0)
        {
            return;
        }
        // Sensor names are lower snake case (no commas), so a joined list travels as one text per machine.
        await using var command = Command(connection, transaction, NotePendingSql, tenantId,
            spans.Keys.ToArray(),
            spans.Values.Select(s => s.From.UtcDateTime).ToArray(),
            spans.Values.Select(s => s.To.UtcDateTime).ToArray(),
            spans.Values.Select(s => string.Join(',', s.Sensors)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Claims up to <paramref name="maxSpans"/> pending spans of all tenants and recomputes the minutes and hours they
    /// touch, and each machine's last seen, in one transaction: a failure leaves the spans pending for the next run.
    /// Runs are serialized; a run that finds another one working returns at once with nothing done.
    /// </summary>
    public async Task<RollupResult> RollUpPendingAsync(int maxSpans, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSpans);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var locking = Command(connection, transaction, "SELECT pg_try_advisory_xact_lock($1)", RunLockKey))
        {
            if (!(bool)(await locking.ExecuteScalarAsync(cancellationToken))!)
            {
                return default;
            }
        }
        List<RollupSpan> spans;
        await using (var claim = Command(connection, transaction,
            "SELECT tenant_id, machine_id, from_ts, to_ts, sensors FROM pdm.claim_rollup_pending($1)", maxSpans))
        {
            spans = await ReadAllAsync(claim, reader => new RollupSpan(reader.GetGuid(0), reader.GetString(1),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<string[]>(4)),
                cancellationToken);
        }
        if (spans.Count == 0)
        {
            return default;
        }
        await EnsurePartitionsAsync(connection, transaction, spans.Min(s => s.From), spans.Max(s => s.To), cancellationToken);

        var ranges = 0;
        long minutes = 0;
        foreach (var tenant in spans.GroupBy(s => s.TenantId))
        {
            await SetTenantAsync(connection, transaction, tenant.Key, cancellationToken);
            var machines = tenant.GroupBy(s => s.MachineId, StringComparer.Ordinal).ToList();
            var merged = machines.SelectMany(m => Merge(m, MergeGap)).ToList();
            minutes += await RollUpRangesAsync(connection, transaction, tenant.Key, merged,
                machines.Select(m => (m.Key, m.Max(s => s.To))).ToList(), cancellationToken);
            ranges += merged.Count;
        }
        await transaction.CommitAsync(cancellationToken);
        logger.RolledUp(spans.Count, ranges, minutes);
        return new RollupResult(spans.Count, ranges, minutes);
    }

    /// <summary>
    /// Runs <see cref="RollUpPendingAsync"/> while each run claims a full <paramref name="spansPerRun"/> and the
    /// <paramref name="budget"/> (measured on <paramref name="clock"/>) lasts: what the Rollup timer does once. Returns
    /// the runs' totals.
    /// </summary>
    public async Task<RollupResult> RollUpWhilePendingAsync(int spansPerRun, TimeSpan budget, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var started = clock.GetTimestamp();
        RollupResult total = default;
        RollupResult run;
        do
        {
            run = await RollUpPendingAsync(spansPerRun, cancellationToken);
            total = new RollupResult(total.Spans + run.Spans, total.Ranges + run.Ranges, total.MinuteBuckets + run.MinuteBuckets);
        }
        while (run.Spans == spansPerRun && clock.GetElapsedTime(started) < budget);
        return total;
    }

    /// <summary>
    /// Recomputes one machine's rollups over [<paramref name="from"/>, <paramref name="to"/>] directly (bulk loads
    /// that bypass ingest, such as the API benchmark's COPY), in day-sized transactions; also moves its last seen.
    /// </summary>
    public async Task<long> RollUpAsync(Guid tenantId, string machineId, IReadOnlyList<string> sensors, DateTimeOffset from,
        DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await EnsurePartitionsAsync(connection, transaction, from, to, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        long minutes = 0;
        for (var start = from; start <= to; start = start.AddDays(1))
        {
            var end = start.AddDays(1) > to ? to : start.AddDays(1).AddTicks(-1);
            minutes += await dataSource.InTenantAsync(tenantId, (connection, transaction) =>
                RollUpRangesAsync(connection, transaction, tenantId, [new RollupSpan(tenantId, machineId, start, end, sensors)],
                    [(machineId, end)], cancellationToken), cancellationToken);
        }
        return minutes;
    }

    /// <summary>
    /// Recomputes the minutes of the ranges from raw rows, then the hours containing them from those minutes, and moves
    /// each machine's last seen: one batch for all of a tenant's ranges (the tenant is set on the transaction).
    /// </summary>
    /// <returns>Per-minute sensor buckets written.</returns>
    private static async Task<long> RollUpRangesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        IReadOnlyList<RollupSpan> ranges, IReadOnlyList<(string MachineId, DateTimeOffset LastSeen)> lastSeen,
        CancellationToken cancellationToken)
    {
        var minuteRanges = ranges.Select(r => r with
        {
            From = Floor(r.From, TimeSpan.FromMinutes(1)),
            To = Floor(r.To, TimeSpan.FromMinutes(1)).AddMinutes(1),
        }).ToList();
        var hourRanges = HourRanges(ranges).ToList();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                RangesCommand(ReadingMinutesSql, tenantId, minuteRanges),
                RangesCommand(ReadingHoursSql, tenantId, hourRanges),
                RangesCommand(ScoreMinutesSql, tenantId, minuteRanges),
                RangesCommand(ScoreHoursSql, tenantId, hourRanges),
                BatchCommand(LastSeenSql, tenantId, lastSeen.Select(l => l.MachineId).ToArray(),
                    lastSeen.Select(l => l.LastSeen.UtcDateTime).ToArray()),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands[0].RecordsAffected;
    }

    // Sensor names are lower snake case (no commas), so a range's sensors travel as one joined text.
    private static NpgsqlBatchCommand RangesCommand(string sql, Guid tenantId, IReadOnlyList<RollupSpan> ranges) =>
        BatchCommand(sql, tenantId, ranges.Select(r => r.MachineId).ToArray(), ranges.Select(r => r.From.UtcDateTime).ToArray(),
            ranges.Select(r => r.To.UtcDateTime).ToArray(), ranges.Select(r => string.Join(',', r.Sensors)).ToArray());

    /// <summary>
    /// The whole hours each machine's ranges touch, merged where two ranges share an hour, so that no hour is recomputed
    /// twice in one statement (which would count its minutes twice).
    /// </summary>
    internal static IEnumerable<RollupSpan> HourRanges(IEnumerable<RollupSpan> ranges) =>
        ranges.GroupBy(r => (r.TenantId, r.MachineId)).SelectMany(machine => Merge(machine.Select(r => r with
        {
            From = Floor(r.From, TimeSpan.FromHours(1)),
            To = Floor(r.To, TimeSpan.FromHours(1)).AddHours(1),
        }), TimeSpan.Zero));

    private static async Task EnsurePartitionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var earliest = from < now.AddDays(-PartitionDaysBehind) ? now.AddDays(-PartitionDaysBehind) : from;
        var latest = to > now.AddDays(PartitionDaysAhead) ? now.AddDays(PartitionDaysAhead) : to;
        if (latest < earliest)
        {
            return;
        }
        foreach (var table in RollupTables)
        {
            await using var command = Command(connection, transaction, "SELECT pdm.ensure_rollup_partitions($1, $2, $3)",
                table, earliest.UtcDateTime, latest.UtcDateTime);
            await command.ExecuteScalarAsync(cancellationToken);
        }
    }

    /// <summary>One machine's spans, sorted and merged where they overlap or lie within <paramref name="gap"/>.</summary>
    internal static IEnumerable<RollupSpan> Merge(IEnumerable<RollupSpan> spans, TimeSpan gap)
    {
        RollupSpan? current = null;
        foreach (var span in spans.OrderBy(s => s.From))
        {
            if (current is null)
            {
                current = span;
            }
            else if (span.From <= current.To + gap)
            {
                current = current with
                {
                    To = span.To > current.To ? span.To : current.To,
                    Sensors = [.. current.Sensors.Union(span.Sensors, StringComparer.Ordinal)],
                };
            }
            else
            {
                yield return current;
                current = span;
            }
        }
        if (current is not null)
        {
            yield return current;
        }
    }

    private static DateTime Floor(DateTimeOffset time, TimeSpan step)
    {
        var utc = time.UtcDateTime;
        return new DateTime(utc.Ticks - (utc.Ticks % step.Ticks), DateTimeKind.Utc);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3010, Level = LogLevel.Information,
        Message = "Rolled up {Spans} pending spans as {Ranges} machine ranges ({Minutes} minute buckets written)")]
    public static partial void RolledUp(this ILogger logger, int spans, int ranges, long minutes);
}
