using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Pdm.Telemetry;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>
/// A machine's latest samples as a time x sensor table: <see cref="Values"/> is row-major, one row per timestamp and
/// one column per sensor, NaN where a sample lacks a sensor.
/// </summary>
public sealed record MachineSamples(string MachineId, IReadOnlyList<DateTimeOffset> Timestamps, IReadOnlyList<string> Sensors, double[] Values);

/// <summary>
/// Sensor values: the idempotent ingest write (binary COPY to a staging table, then one insert per tenant; with
/// scoring, readings, scores and detector state commit in one transaction), the raw COPY the benchmark compares it
/// with, and the reads of the API and the predictor. Creates the daily partitions the writes need.
/// </summary>
public sealed class ReadingStore(NpgsqlDataSource dataSource, ILogger<ReadingStore> logger)
{
    // Days outside this window around today are not given a partition by the writer; their rows go to the
    // DEFAULT partition (kept, never lost), so a device with a broken clock cannot make thousands of tables.
    private const int WriterPartitionDaysBehind = 400;
    private const int WriterPartitionDaysAhead = 7;

    // No indexes and ON COMMIT DELETE ROWS: the cheapest place to land a COPY before the idempotent insert. One row
    // holds a run of one machine's sensor (up to SeriesRunLength values, times ascending), so the database receives a
    // few hundred rows an invocation instead of one per value. The text columns collate as readings' do ("C").
    private const string CreateStagingSql = """
        CREATE TEMP TABLE IF NOT EXISTS pdm_ingest_series (
            machine_id text COLLATE "C" NOT NULL,
            sensor text COLLATE "C" NOT NULL,
            ts timestamptz[] NOT NULL,
            value double precision[] NOT NULL,
            seq bigint[] NOT NULL
        ) ON COMMIT DELETE ROWS
        """;

    private const string CopyToStagingSql =
        "COPY pg_temp.pdm_ingest_series (machine_id, sensor, ts, value, seq) FROM STDIN (FORMAT BINARY)";

    // The runs were staged in the primary key's order (machine, sensor, time; see StageAsync) and a scan of the
    // freshly filled temp table returns them in that order, so consecutive index insertions land on the same leaf
    // pages (about half the server CPU of an unordered insert). No ORDER BY: sorting an invocation's 8,000 values
    // took 6 % of the whole machine's CPU during the ingest bench, and order matters for speed only.
    private const string InsertFromStagingSql = """
        INSERT INTO pdm.readings (tenant_id, machine_id, sensor, ts, value, seq)
        SELECT $1, machine_id, sensor, unnest(ts), unnest(value), unnest(seq) FROM pg_temp.pdm_ingest_series
        """;

    // A run's three arrays stay under PostgreSQL's 2 KB row threshold, so staging never compresses or moves them out of line.
    private const int SeriesRunLength = 64;

    private const string RegisterMachinesSql = """
        INSERT INTO pdm.machines (tenant_id, machine_id, first_seen_by_device)
        SELECT $1, m.machine_id, m.device_id FROM unnest($2::text[], $3::text[]) AS m (machine_id, device_id)
        ON CONFLICT (tenant_id, machine_id) DO NOTHING
        """;

    private const string CopyRawSql =
        "COPY pdm.readings (tenant_id, machine_id, sensor, ts, value, seq) FROM STDIN (FORMAT BINARY)";

    private volatile PartitionState? _partitions;

    private sealed record PartitionState(bool Native, ConcurrentDictionary<DateOnly, bool> Days);

    /// <summary>
    /// Stores the values of all batches in one transaction, idempotently: a value whose (tenant, machine, sensor,
    /// timestamp) is already stored counts as a duplicate and is left as it was. Machine ids a tenant has not sent
    /// before are registered for it. Each tenant's rows are written with that tenant set, so the readings policy
    /// checks every row.
    /// </summary>
    public Task<IngestWriteResult> WriteReadingsAsync(IReadOnlyList<TenantBatch> batches,
        CancellationToken cancellationToken) => WriteReadingsAsync(batches, score: null, cancellationToken);

    /// <inheritdoc cref="WriteReadingsAsync(IReadOnlyList{TenantBatch}, CancellationToken)"/>
    /// <param name="score">When set, scores each tenant's machines in the same transaction (see <see cref="ScoreStore.ScoreTenantAsync"/>).</param>
    public Task<IngestWriteResult> WriteReadingsAsync(IReadOnlyList<TenantBatch> batches, TenantScorer? score,
        CancellationToken cancellationToken) => WriteReadingsAsync(batches, score, alert: null, cancellationToken);

    /// <inheritdoc cref="WriteReadingsAsync(IReadOnlyList{TenantBatch}, CancellationToken)"/>
    /// <param name="score">When set, scores each tenant's machines in the same transaction (see <see cref="ScoreStore.ScoreTenantAsync"/>).</param>
    /// <param name="alert">
    /// When set, evaluates each tenant's alert rules after scoring, in the same transaction, for the batch's machines
    /// and devices (see <see cref="AlertStore.EvaluateTenantAsync"/>): readings, scores, alert states, alerts, their
    /// events and outbox rows commit together or not at all.
    /// </param>
    public async Task<IngestWriteResult> WriteReadingsAsync(IReadOnlyList<TenantBatch> batches, TenantScorer? score,
        TenantAlerter? alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Count == 0)
        {
            return default;
        }
        await EnsurePartitionsAsync(batches.SelectMany(b => b.Samples), cancellationToken);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = Command(connection, transaction, CreateStagingSql))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        long inserted = 0;
        long duplicate = 0;
        long scored = 0;
        AlertWriteResult alerts = default;
        var machinesCreated = 0;
        var first = true;
        foreach (var group in batches.GroupBy(b => b.TenantId))
        {
            if (!first)
            {
                await using var truncate = Command(connection, transaction, "TRUNCATE pg_temp.pdm_ingest_series");
                await truncate.ExecuteNonQueryAsync(cancellationToken);
            }
            first = false;
            await SetTenantAsync(connection, transaction, group.Key, cancellationToken);
            machinesCreated += await RegisterMachinesAsync(connection, transaction, group.Key, group, cancellationToken);

            var staged = await StageAsync(connection, group.SelectMany(b => b.Samples), cancellationToken);
            string[] machineIds = [];
            if (staged > 0)
            {
                var rows = await InsertStagedAsync(connection, transaction, group.Key, cancellationToken);
                inserted += rows;
                duplicate += staged - rows;
                if (rows > 0)
                {
                    await RollupStore.NotePendingAsync(connection, transaction, group.Key, group.SelectMany(b => b.Samples), cancellationToken);
                }
                machineIds = [.. group.SelectMany(b => b.Samples).Select(s => s.MachineId).Distinct(StringComparer.Ordinal)];
                if (score is not null)
                {
                    scored += await ScoreStore.ScoreTenantAsync(connection, transaction, group.Key, machineIds, score, cancellationToken);
                }
            }
            else if (alert is null)
            {
                continue;
            }
            if (alert is not null)
            {
                // A device whose messages were all rejected comes with no samples: its device rules are still evaluated.
                AlertSubject[] subjects = [
                    .. machineIds.Select(AlertSubject.Machine),
                    .. group.Select(b => AlertSubject.Device(b.DeviceId)).Distinct()];
                alerts = alerts.Add(await AlertStore.EvaluateTenantAsync(connection, transaction, group.Key, subjects, alert, cancellationToken));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return new IngestWriteResult(inserted, duplicate, machinesCreated)
        {
            ScoresInserted = scored, AlertEvents = alerts.Events, AlertOutbox = alerts.Outbox,
        };
    }

    /// <summary>
    /// Benchmark ceiling only: binary COPY straight into pdm.readings. NOT idempotent (a duplicate key fails the
    /// whole call) and it needs a role that bypasses row-level security, because PostgreSQL refuses COPY FROM into a
    /// table with RLS; with the application role it throws. Returns the number of values copied.
    /// </summary>
    public async Task<long> CopyRawAsync(Guid tenantId, IReadOnlyList<MachineSample> samples,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(samples);
        await EnsurePartitionsAsync(samples, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var writer = await connection.BeginBinaryImportAsync(CopyRawSql, cancellationToken);
        foreach (var sample in samples)
        {
            var timestamp = sample.Timestamp.UtcDateTime;
            foreach (var value in sample.Values)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(tenantId, NpgsqlDbType.Uuid, cancellationToken);
                await writer.WriteAsync(sample.MachineId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(value.Sensor, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(timestamp, NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(value.Value, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(sample.Sequence, NpgsqlDbType.Bigint, cancellationToken);
            }
        }
        return (long)await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>One value of a sample: <c>Sample.Values[Index]</c>.</summary>
    private readonly record struct StagedValue(MachineSample Sample, int Index)
    {
        public SensorValue Value => Sample.Values[Index];
    }

    /// <summary>
    /// Copies a tenant's values into the staging table as runs of one machine's sensor, in the readings primary key's
    /// order: machine, sensor, time. Ordinal order is the "C" collation's byte order for every character outside the
    /// surrogate range, and where the two differ only the insert's locality suffers, never its result. Returns the
    /// number of values staged.
    /// </summary>
    private static async Task<long> StageAsync(NpgsqlConnection connection, IEnumerable<MachineSample> samples,
        CancellationToken cancellationToken)
    {
        var values = new List<StagedValue>();
        foreach (var sample in samples)
        {
            for (var i = 0; i < sample.Values.Count; i++)
            {
                values.Add(new StagedValue(sample, i));
            }
        }
        var ordered = values.ToArray();
        Array.Sort(ordered, static (a, b) =>
        {
            var order = string.CompareOrdinal(a.Sample.MachineId, b.Sample.MachineId);
            if (order == 0)
            {
                order = string.CompareOrdinal(a.Value.Sensor, b.Value.Sensor);
            }
            return order != 0 ? order : a.Sample.Timestamp.UtcTicks.CompareTo(b.Sample.Timestamp.UtcTicks);
        });

        await using var writer = await connection.BeginBinaryImportAsync(CopyToStagingSql, cancellationToken);
        for (var start = 0; start < ordered.Length;)
        {
            var first = ordered[start];
            var end = start + 1;
            while (end < ordered.Length && end - start < SeriesRunLength
                && ordered[end].Sample.MachineId == first.Sample.MachineId && ordered[end].Value.Sensor == first.Value.Sensor)
            {
                end++;
            }
            var times = new DateTime[end - start];
            var readings = new double[end - start];
            var sequences = new long[end - start];
            for (var i = 0; i < times.Length; i++)
            {
                var (sample, index) = ordered[start + i];
                times[i] = sample.Timestamp.UtcDateTime;
                readings[i] = sample.Values[index].Value;
                sequences[i] = sample.Sequence;
            }
            await writer.StartRowAsync(cancellationToken);
            await writer.WriteAsync(first.Sample.MachineId, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(first.Value.Sensor, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(times, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, cancellationToken);
            await writer.WriteAsync(readings, NpgsqlDbType.Array | NpgsqlDbType.Double, cancellationToken);
            await writer.WriteAsync(sequences, NpgsqlDbType.Array | NpgsqlDbType.Bigint, cancellationToken);
            start = end;
        }
        await writer.CompleteAsync(cancellationToken);
        return ordered.Length;
    }

    /// <summary>Moves the staged values into readings (optimistically: see <see cref="StoreSql.InsertOptimisticallyAsync"/>).</summary>
    private static Task<int> InsertStagedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, CancellationToken cancellationToken) =>
        InsertOptimisticallyAsync(connection, transaction, InsertFromStagingSql, [tenantId], cancellationToken);

    private static async Task<int> RegisterMachinesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, IEnumerable<TenantBatch> batches, CancellationToken cancellationToken)
    {
        var firstDevice = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            foreach (var sample in batch.Samples)
            {
                firstDevice.TryAdd(sample.MachineId, batch.DeviceId);
            }
        }
        if (firstDevice.Count == 0)
        {
            return 0;
        }
        await using var command = Command(connection, transaction, RegisterMachinesSql,
            tenantId, firstDevice.Keys.ToArray(), firstDevice.Values.ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Creates the daily partitions a batch needs before its transaction starts (DDL there would block writers).</summary>
    private async Task EnsurePartitionsAsync(IEnumerable<MachineSample> samples, CancellationToken cancellationToken)
    {
        var state = _partitions ??= await LoadPartitionStateAsync(cancellationToken);
        if (!state.Native)
        {
            return;
        }
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var earliest = today.AddDays(-WriterPartitionDaysBehind);
        var latest = today.AddDays(WriterPartitionDaysAhead);
        List<DateOnly>? missing = null;
        DateOnly? previous = null;
        foreach (var sample in samples)
        {
            var day = DateOnly.FromDateTime(sample.Timestamp.UtcDateTime);
            if (day == previous)
            {
                continue;
            }
            previous = day;
            if (day < earliest || day > latest || state.Days.ContainsKey(day))
            {
                continue;
            }
            missing ??= [];
            if (!missing.Contains(day))
            {
                missing.Add(day);
            }
        }
        if (missing is null)
        {
            return;
        }

        foreach (var day in missing)
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            await using var command = dataSource.PlatformCommand("SELECT pdm.ensure_reading_partitions($1, $1)", start);
            if ((int)(await command.ExecuteScalarAsync(cancellationToken))! > 0)
            {
                logger.ReadingPartitionCreated(day);
            }
            state.Days[day] = true;
        }
    }

    private async Task<PartitionState> LoadPartitionStateAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand("""
            SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table WHERE partrelid = 'pdm.readings'::regclass),
                   ARRAY(SELECT c.relname::text
                         FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
                         WHERE i.inhparent = 'pdm.readings'::regclass)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var days = new ConcurrentDictionary<DateOnly, bool>();
        foreach (var name in reader.GetFieldValue<string[]>(1))
        {
            // Partitions are named readings_pYYYYMMDD by pdm.ensure_reading_partitions.
            if (name.StartsWith("readings_p", StringComparison.Ordinal)
                && DateOnly.TryParseExact(name["readings_p".Length..], "yyyyMMdd", CultureInfo.InvariantCulture,
                    DateTimeStyles.None, out var day))
            {
                days[day] = true;
            }
        }
        return new PartitionState(reader.GetBoolean(0), days);
    }

    /// <summary>Values of one machine in [from, to), oldest first, optionally for one sensor.</summary>
    public Task<IReadOnlyList<Reading>> QueryReadingsAsync(Guid tenantId, string machineId, DateTimeOffset from,
        DateTimeOffset to, string? sensor, int limit, CancellationToken cancellationToken) =>
        QueryReadingsAsync(tenantId, machineId, from, to, sensor, limit, null, cancellationToken);

    /// <summary>The same, after the reading <paramref name="after"/> (its time and sensor: the order of the list).</summary>
    public async Task<IReadOnlyList<Reading>> QueryReadingsAsync(Guid tenantId, string machineId, DateTimeOffset from,
        DateTimeOffset to, string? sensor, int limit, (DateTimeOffset At, string Sensor)? after, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // Two statements rather than "$4 IS NULL OR sensor = $4", so both use the primary key index well.
        var sql = sensor is null
            ? """
              SELECT machine_id, sensor, ts, value, seq FROM pdm.readings
              WHERE machine_id = $1 AND ts >= $2 AND ts < $3 AND ($5::timestamptz IS NULL OR (ts, sensor) > ($5, $6::text))
              ORDER BY ts, sensor LIMIT $4
              """
            : """
              SELECT machine_id, sensor, ts, value, seq FROM pdm.readings
              WHERE machine_id = $1 AND ts >= $2 AND ts < $3 AND sensor = $6 AND ($5::timestamptz IS NULL OR ts > $5)
              ORDER BY ts, sensor LIMIT $4
              """;
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = sensor is null
                ? Command(connection, transaction, sql, machineId, from.ToUniversalTime(), to.ToUniversalTime(), limit,
                    after?.At.ToUniversalTime(), after?.Sensor)
                : Command(connection, transaction, sql, machineId, from.ToUniversalTime(), to.ToUniversalTime(), limit,
                    after?.At.ToUniversalTime(), sensor);
            return await ReadAllAsync(command, reader => new Reading(reader.GetString(0), reader.GetString(1),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetDouble(3), reader.GetInt64(4)), cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Number of stored values of the tenant (exact; meant for demo progress, not dashboards).</summary>
    public async Task<long> CountReadingsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "SELECT count(*) FROM pdm.readings");
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);

    /// <summary>The tenant's machines with a reading at or after <paramref name="since"/>, by id.</summary>
    public async Task<IReadOnlyList<string>> ListActiveMachinesAsync(Guid tenantId, DateTimeOffset since, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "SELECT DISTINCT machine_id FROM pdm.readings WHERE ts >= $1 ORDER BY machine_id", since.ToUniversalTime());
            return await ReadAllAsync(command, reader => reader.GetString(0), cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// The machine's latest samples in [<paramref name="from"/>, <paramref name="to"/>], at most
    /// <paramref name="maxSamples"/> timestamps, pivoted into a time x sensor table, oldest first. Null when the range
    /// holds no reading.
    /// </summary>
    public async Task<MachineSamples?> ReadMachineSamplesAsync(Guid tenantId, string machineId, DateTimeOffset from, DateTimeOffset to,
        int maxSamples, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSamples);
        var rows = await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // The cut-off is the oldest of the latest maxSamples timestamps, so every value at or after it belongs in.
            await using var command = Command(connection, transaction, """
                WITH latest AS (
                    SELECT DISTINCT ts FROM pdm.readings WHERE machine_id = $1 AND ts >= $2 AND ts <= $3
                    ORDER BY ts DESC LIMIT $4)
                SELECT ts, sensor, value FROM pdm.readings
                WHERE machine_id = $1 AND ts >= (SELECT min(ts) FROM latest) AND ts <= $3
                ORDER BY ts, sensor
                """, machineId, from.ToUniversalTime(), to.ToUniversalTime(), maxSamples);
            return await ReadAllAsync(command, reader => (Ts: reader.GetFieldValue<DateTimeOffset>(0), Sensor: reader.GetString(1),
                Value: reader.GetDouble(2)), cancellationToken);
        }, cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        var sensors = rows.Select(r => r.Sensor).Distinct().Order(StringComparer.Ordinal).ToArray();
        var column = sensors.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        var timestamps = new List<DateTimeOffset>();
        var values = new List<double>();
        foreach (var row in rows)
        {
            if (timestamps.Count == 0 || timestamps[^1] != row.Ts)
            {
                timestamps.Add(row.Ts);
                values.AddRange(Enumerable.Repeat(double.NaN, sensors.Length));
            }
            values[((timestamps.Count - 1) * sensors.Length) + column[row.Sensor]] = row.Value;
        }
        return new MachineSamples(machineId, timestamps, sensors, [.. values]);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Created the reading partition for {Day}")]
    public static partial void ReadingPartitionCreated(this ILogger logger, DateOnly day);
}
