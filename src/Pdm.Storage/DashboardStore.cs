using System.Collections;
using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>One machine as the fleet overview shows it: identity, latest prediction, ISO zone, open alerts, last sample.</summary>
public sealed record FleetMachineRow
{
    public required string MachineId { get; init; }
    public string? Name { get; init; }
    public string? Kind { get; init; }
    public string? Location { get; init; }
    /// <summary>LOW..CRITICAL as an admin set it; null when nobody did.</summary>
    public string? Criticality { get; init; }
    /// <summary>The latest prediction's health label (HEALTHY, WARNING, FAULTY, BROKEN, UNKNOWN); null without one.</summary>
    public string? HealthLabel { get; init; }
    /// <summary>The latest prediction's class probabilities as JSON ({} when no state model decided).</summary>
    public string? HealthProbabilitiesJson { get; init; }
    /// <summary>LOW..CRITICAL; null without a prediction.</summary>
    public string? Risk { get; init; }
    public double? RulSeconds { get; init; }
    public double? RulP10Seconds { get; init; }
    public double? RulP90Seconds { get; init; }
    public double? FailureProbability24h { get; init; }
    public double? FailureProbability48h { get; init; }
    public string? IsoZone { get; init; }
    public int OpenAlerts { get; init; }
    public int OpenCriticalAlerts { get; init; }
    public string? WorstOpenSeverity { get; init; }
    public DateTimeOffset? LastSeen { get; init; }
}

/// <summary>Per-minute or per-hour aggregate of one sensor (a raw value has min = max = mean and count 1).</summary>
public readonly record struct SeriesPoint(DateTimeOffset Time, double Mean, double Min, double Max, long Count);

/// <summary>An anomaly score, or the worst of a bucket's scores with whether any of them was anomalous.</summary>
public readonly record struct ScorePoint(DateTimeOffset Time, double Score, bool Anomalous);

public sealed record SensorSeries(string Sensor, IReadOnlyList<SeriesPoint> Points);

/// <summary>An alert of the machine that was unresolved at some time in the chart's range.</summary>
public sealed record SeriesAlert(Guid AlertId, string RuleId, string Severity, string Status, DateTimeOffset OpenedAt,
    DateTimeOffset? ResolvedAt, string? Summary);

public enum SeriesResolution
{
    Raw,
    Minute,
    Hour,
}

public sealed record MachineSeries(string MachineId, DateTimeOffset From, DateTimeOffset To, SeriesResolution Resolution,
    IReadOnlyList<SensorSeries> Sensors, IReadOnlyList<ScorePoint> Scores, IReadOnlyList<SeriesAlert> Alerts);

/// <summary>
/// The dashboard's two reads: the fleet overview (one row per machine, from a handful of index probes each) and a
/// machine's chart at the finest resolution that fits the caller's point budget (raw rows, or the rollups of
/// <see cref="RollupStore"/>).
/// </summary>
public sealed class DashboardStore(NpgsqlDataSource dataSource)
{
    /// <summary>Alerts returned with a chart at most (newest first); a machine with more in one range is an outlier.</summary>
    public const int MaxSeriesAlerts = 500;

    private const string FleetSql = """
        SELECT m.machine_id, m.name, m.kind,
               p.health, p.health_probabilities::text, p.risk, p.rul_seconds, p.rul_p10_seconds, p.rul_p90_seconds,
               p.failure_probability_24h, p.failure_probability_48h,
               z.iso_zone,
               coalesce(al.open_alerts, 0)::integer, coalesce(al.critical, 0)::integer,
               (ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])[al.worst],
               greatest(a.last_seen, st.last_ts), m.location, m.criticality
        FROM pdm.machines m
        LEFT JOIN LATERAL (
            SELECT * FROM pdm.predictions p WHERE p.machine_id = m.machine_id ORDER BY p.at DESC LIMIT 1) p ON true
        LEFT JOIN pdm.machine_activity a ON a.machine_id = m.machine_id
        LEFT JOIN pdm.scorer_states st ON st.machine_id = m.machine_id
        -- The latest score's zone, looked for in the day before the machine's last sample: scores are partitioned by
        -- day, and bounding the time lets each probe touch one or two partitions instead of every day kept.
        LEFT JOIN LATERAL (
            SELECT s.iso_zone FROM pdm.anomaly_scores s
            WHERE s.machine_id = m.machine_id AND s.ts <= greatest(a.last_seen, st.last_ts)
              AND s.ts > greatest(a.last_seen, st.last_ts) - interval '24 hours'
            ORDER BY s.ts DESC LIMIT 1) z ON true
        LEFT JOIN (
            SELECT subject_id, count(*) AS open_alerts, count(*) FILTER (WHERE severity = 'CRITICAL') AS critical,
                   max(array_position(ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], severity)) AS worst
            FROM pdm.alerts WHERE subject_kind = 'machine' AND status <> 'resolved'
            GROUP BY subject_id) al ON al.subject_id = m.machine_id
        ORDER BY m.machine_id
        """;

    private const string OpenAlertsBySeveritySql =
        "SELECT severity, count(*)::integer FROM pdm.alerts WHERE status <> 'resolved' GROUP BY severity";

    /// <summary>
    /// Every machine of the tenant with what the overview shows, by machine id, and the tenant's unresolved alerts
    /// (machines and devices) by severity. One transaction, so the numbers agree with each other.
    /// </summary>
    public async Task<(IReadOnlyList<FleetMachineRow> Machines, IReadOnlyDictionary<string, int> OpenAlertsBySeverity)> ReadFleetAsync(
        Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands = { BatchCommand(FleetSql), BatchCommand(OpenAlertsBySeveritySql) },
            };
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var machines = new List<FleetMachineRow>();
            while (await reader.ReadAsync(cancellationToken))
            {
                machines.Add(new FleetMachineRow
                {
                    MachineId = reader.GetString(0),
                    Name = NullableString(reader, 1),
                    Kind = NullableString(reader, 2),
                    Location = NullableString(reader, 16),
                    Criticality = NullableString(reader, 17),
                    HealthLabel = NullableString(reader, 3),
                    HealthProbabilitiesJson = NullableString(reader, 4),
                    Risk = NullableString(reader, 5),
                    RulSeconds = NullableValue<double>(reader, 6),
                    RulP10Seconds = NullableValue<double>(reader, 7),
                    RulP90Seconds = NullableValue<double>(reader, 8),
                    FailureProbability24h = NullableValue<double>(reader, 9),
                    FailureProbability48h = NullableValue<double>(reader, 10),
                    IsoZone = NullableString(reader, 11),
                    OpenAlerts = reader.GetInt32(12),
                    OpenCriticalAlerts = reader.GetInt32(13),
                    WorstOpenSeverity = NullableString(reader, 14),
                    LastSeen = NullableValue<DateTimeOffset>(reader, 15),
                });
            }
            await reader.NextResultAsync(cancellationToken);
            var bySeverity = new Dictionary<string, int>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken))
            {
                bySeverity[reader.GetString(0)] = reader.GetInt32(1);
            }
            return ((IReadOnlyList<FleetMachineRow>)machines, (IReadOnlyDictionary<string, int>)bySeverity);
        }, cancellationToken);

    /// <summary>
    /// The machine's chart over [<paramref name="from"/>, <paramref name="to"/>): every sensor (or those named) at the
    /// finest resolution whose points per sensor fit <paramref name="maxPoints"/> (per hour when none does), the anomaly
    /// scores at the same resolution, and the alerts unresolved at some time in the range; null when the tenant has no
    /// such machine. The choice is made from the hourly rollups' counts (which are the chart itself when per hour is
    /// chosen); raw is confirmed against the raw rows, which the rollups may trail by one Rollup run.
    /// </summary>
    /// <param name="sensors">Null or empty for all the machine's sensors.</param>
    public async Task<MachineSeries?> ReadSeriesAsync(Guid tenantId, string machineId, DateTimeOffset from, DateTimeOffset to,
        IReadOnlyList<string>? sensors, int maxPoints, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPoints);
        var start = from.UtcDateTime;
        var end = to.UtcDateTime;
        var only = sensors is { Count: > 0 } ? sensors.ToArray() : null;
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            if (await ReadHoursAsync(connection, transaction, machineId, start, end, only, cancellationToken) is not { } hours)
            {
                return null;
            }
            // Whole hours overlapping the range: an over-estimate by at most the two edge hours, so a choice always fits.
            var rawPoints = hours.Count == 0 ? 0 : hours.Max(h => h.Values);
            var minutePoints = hours.Count == 0 ? 0 : hours.Max(h => h.Minutes);
            var known = hours.Select(h => h.Sensor).ToArray();
            IReadOnlyList<SensorSeries>? series = null;
            var resolution = rawPoints <= maxPoints ? SeriesResolution.Raw : minutePoints <= maxPoints ? SeriesResolution.Minute : SeriesResolution.Hour;
            if (resolution == SeriesResolution.Raw)
            {
                // The rollups may not hold the last minute yet: the raw rows decide, one row over the budget is enough.
                // The rollups' sensors, unless they have none yet (a new machine): then every sensor the raw rows hold.
                series = await ReadRawAsync(connection, transaction, machineId, start, end, only ?? (known.Length > 0 ? known : null),
                    maxPoints, cancellationToken);
                if (series is null)
                {
                    resolution = minutePoints <= maxPoints ? SeriesResolution.Minute : SeriesResolution.Hour;
                }
            }
            series ??= resolution == SeriesResolution.Hour
                ? [.. hours.Select(h => new SensorSeries(h.Sensor, h))]
                : await ReadMinutesAsync(connection, transaction, machineId, start, end, only, cancellationToken);
            var (scores, alerts) = await ReadScoresAndAlertsAsync(connection, transaction, machineId, start, end, resolution,
                series.Count == 0 ? 0 : series.Max(s => s.Points.Count), cancellationToken);
            return new MachineSeries(machineId, from.ToUniversalTime(), to.ToUniversalTime(), resolution, series, scores, alerts);
        }, cancellationToken);
    }

    /// <summary>
    /// One sensor's hourly rollups over the range, a column per field, seen as points, with how many minute buckets
    /// they hold. Columns sized to the range up front: a month's chart is 720 hours per sensor, and growing lists of
    /// points (then copying them) was most of what a chart allocated.
    /// </summary>
    private sealed class HourSeries(string sensor, int capacity) : IReadOnlyList<SeriesPoint>
    {
        private DateTime[] _buckets = new DateTime[capacity];
        private double[] _means = new double[capacity];
        private double[] _mins = new double[capacity];
        private double[] _maxes = new double[capacity];
        private int[] _counts = new int[capacity];

        public string Sensor { get; } = sensor;

        public int Count { get; private set; }

        public long Values { get; private set; }

        public long Minutes { get; private set; }

        public SeriesPoint this[int index] => (uint)index < (uint)Count
            ? new(new DateTimeOffset(_buckets[index]), _means[index], _mins[index], _maxes[index], _counts[index])
            : throw new ArgumentOutOfRangeException(nameof(index));

        public void Add(DateTime bucket, double mean, double min, double max, int count, int minutes)
        {
            if (Count == _buckets.Length)
            {
                var size = Math.Max(16, Count * 2);
                Array.Resize(ref _buckets, size);
                Array.Resize(ref _means, size);
                Array.Resize(ref _mins, size);
                Array.Resize(ref _maxes, size);
                Array.Resize(ref _counts, size);
            }
            (_buckets[Count], _means[Count], _mins[Count], _maxes[Count], _counts[Count]) = (bucket, mean, min, max, count);
            Count++;
            Values += count;
            Minutes += minutes;
        }

        public IEnumerator<SeriesPoint> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// The hourly rollups of every sensor (or those named) in the whole hours overlapping the range, by sensor name; null
    /// when the tenant has no such machine. One round trip: the machine check and the rows in one batch. (One row of
    /// arrays per sensor, aggregated by the database, was tried: it allocates less but took 4–10 ms longer a chart.)
    /// </summary>
    private static async Task<List<HourSeries>?> ReadHoursAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string machineId, DateTime start, DateTime end, string[]? sensors, CancellationToken cancellationToken)
    {
        var hoursCommand = BatchCommand("""
            SELECT sensor, bucket, mean, min, max, count, minutes FROM pdm.reading_rollups_1h
            WHERE machine_id = $1 AND bucket >= date_trunc('hour', $2::timestamptz) AND bucket < $3
              AND ($4::text[] IS NULL OR sensor = ANY($4))
            ORDER BY bucket, sensor
            """, machineId, start, end);
        hoursCommand.Parameters.Add(SensorsParameter(sensors));
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { BatchCommand("SELECT EXISTS (SELECT 1 FROM pdm.machines WHERE machine_id = $1)", machineId), hoursCommand },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || !reader.GetBoolean(0))
        {
            return null;
        }
        await reader.NextResultAsync(cancellationToken);
        var hoursInRange = (int)Math.Min(Math.Ceiling((end - start).TotalHours) + 1, 24 * 32);
        var bySensor = new SortedDictionary<string, HourSeries>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var sensor = reader.GetString(0);
            if (!bySensor.TryGetValue(sensor, out var hours))
            {
                bySensor[sensor] = hours = new HourSeries(sensor, hoursInRange);
            }
            hours.Add(reader.GetFieldValue<DateTime>(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4),
                reader.GetInt32(5), reader.GetInt32(6));
        }
        return [.. bySensor.Values];
    }

    private static NpgsqlParameter SensorsParameter(string[]? sensors) =>
        new() { Value = (object?)sensors ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text };

    /// <summary>The raw values by sensor; null when a sensor has more than <paramref name="maxPoints"/> of them.</summary>
    private static async Task<IReadOnlyList<SensorSeries>?> ReadRawAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string machineId, DateTime start, DateTime end, string[]? sensors, int maxPoints, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, """
            SELECT sensor, ts, value FROM pdm.readings
            WHERE machine_id = $1 AND ts >= $2 AND ts < $3 AND ($4::text[] IS NULL OR sensor = ANY($4))
            ORDER BY sensor, ts
            """, machineId, start, end);
        command.Parameters.Add(SensorsParameter(sensors));
        var result = new List<SensorSeries>();
        List<SeriesPoint>? points = null;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var sensor = reader.GetString(0);
            if (result.Count == 0 || result[^1].Sensor != sensor)
            {
                points = [];
                result.Add(new SensorSeries(sensor, points));
            }
            if (points!.Count == maxPoints)
            {
                return null;
            }
            var value = reader.GetDouble(2);
            points.Add(new SeriesPoint(reader.GetFieldValue<DateTimeOffset>(1), value, value, value, 1));
        }
        return result;
    }

    private static async Task<IReadOnlyList<SensorSeries>> ReadMinutesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string machineId, DateTime start, DateTime end, string[]? sensors, CancellationToken cancellationToken)
    {
        // Buckets that overlap the range: the first may start before it.
        await using var command = Command(connection, transaction, """
            SELECT sensor, bucket, mean, min, max, count FROM pdm.reading_rollups_1m
            WHERE machine_id = $1 AND bucket >= date_trunc('minute', $2::timestamptz) AND bucket < $3
              AND ($4::text[] IS NULL OR sensor = ANY($4))
            ORDER BY bucket, sensor
            """, machineId, start, end);
        command.Parameters.Add(SensorsParameter(sensors));
        var bySensor = new SortedDictionary<string, List<SeriesPoint>>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var sensor = reader.GetString(0);
            if (!bySensor.TryGetValue(sensor, out var points))
            {
                bySensor[sensor] = points = [];
            }
            points.Add(new SeriesPoint(reader.GetFieldValue<DateTimeOffset>(1), reader.GetDouble(2), reader.GetDouble(3),
                reader.GetDouble(4), reader.GetInt32(5)));
        }
        return [.. bySensor.Select(p => new SensorSeries(p.Key, p.Value))];
    }

    /// <summary>The anomaly scores at the chart's resolution and the alerts of the range, in one round trip.</summary>
    private static async Task<(IReadOnlyList<ScorePoint> Scores, IReadOnlyList<SeriesAlert> Alerts)> ReadScoresAndAlertsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string machineId, DateTime start, DateTime end,
        SeriesResolution resolution, int expectedPoints, CancellationToken cancellationToken)
    {
        var scoresSql = resolution switch
        {
            SeriesResolution.Raw => """
                SELECT ts, score, anomaly FROM pdm.anomaly_scores WHERE machine_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts
                """,
            SeriesResolution.Minute => """
                SELECT bucket, max_score, anomalies > 0 FROM pdm.score_rollups_1m
                WHERE machine_id = $1 AND bucket >= date_trunc('minute', $2::timestamptz) AND bucket < $3 ORDER BY bucket
                """,
            _ => """
                SELECT bucket, max_score, anomalies > 0 FROM pdm.score_rollups_1h
                WHERE machine_id = $1 AND bucket >= date_trunc('hour', $2::timestamptz) AND bucket < $3 ORDER BY bucket
                """,
        };
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                BatchCommand(scoresSql, machineId, start, end),
                BatchCommand("""
                    SELECT id, rule_id, severity, status, opened_at, resolved_at, explanation->>'summary' FROM pdm.alerts
                    WHERE subject_kind = 'machine' AND subject_id = $1 AND opened_at < $3 AND (resolved_at IS NULL OR resolved_at >= $2)
                    ORDER BY opened_at DESC, id LIMIT $4
                    """, machineId, start, end, MaxSeriesAlerts),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        // About as many as the sensors' points at the same resolution: sized up front, not copied as the list grows.
        var scores = new List<ScorePoint>(expectedPoints);
        while (await reader.ReadAsync(cancellationToken))
        {
            scores.Add(new ScorePoint(reader.GetFieldValue<DateTimeOffset>(0), reader.GetDouble(1), reader.GetBoolean(2)));
        }
        await reader.NextResultAsync(cancellationToken);
        var alerts = new List<SeriesAlert>();
        while (await reader.ReadAsync(cancellationToken))
        {
            alerts.Add(new SeriesAlert(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), NullableValue<DateTimeOffset>(reader, 5), NullableString(reader, 6)));
        }
        alerts.Reverse();
        return (scores, alerts);
    }
}
