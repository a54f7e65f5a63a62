using Npgsql;
using NpgsqlTypes;
using Pdm.Telemetry;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>One machine's detector state after its last scored sample (see pdm.scorer_states).</summary>
public sealed record ScorerState
{
    public required string MachineId { get; init; }

    /// <summary>'baseline', 'machine' or '&lt;registry name&gt;@&lt;version&gt;'.</summary>
    public required string Model { get; init; }

    public required IReadOnlyList<string> Sensors { get; init; }
    public required DateTimeOffset LastTimestamp { get; init; }
    public required long Samples { get; init; }
    public required byte[] State { get; init; }
}

/// <summary>The anomaly score of one machine sample, with its parts and top contributing sensors.</summary>
public sealed record AnomalyScoreRow
{
    public required string MachineId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required long Sequence { get; init; }
    public required double Score { get; init; }
    public required double Threshold { get; init; }
    public required bool IsAnomaly { get; init; }
    public required double IsolationForest { get; init; }
    public required double Statistical { get; init; }
    public required double Temporal { get; init; }

    /// <summary>"A" to "D", or null when the machine has no vibration sensor.</summary>
    public required string? IsoZone { get; init; }

    public required string Model { get; init; }

    /// <summary>At most <see cref="ScoreStore.TopContributors"/>, largest first.</summary>
    public required string[] TopSensors { get; init; }

    public required double[] TopContributions { get; init; }
}

/// <summary>An anomaly model a machine fitted on its own first samples.</summary>
public sealed record MachineAnomalyModel(string MachineId, long Fingerprint, byte[] Artifact);

/// <summary>What scoring a tenant's machines produced, written in one transaction.</summary>
public sealed record ScoringWrite
{
    public required IReadOnlyList<AnomalyScoreRow> Scores { get; init; }
    public required IReadOnlyList<ScorerState> States { get; init; }
    public IReadOnlyList<MachineAnomalyModel> LearnedModels { get; init; } = [];
}

/// <summary>
/// Scores one tenant's machines of a batch, given their stored states (machines never scored are absent) and the
/// ISO 10816 table each machine's vibration is judged by (<see cref="IsoZoneClasses.Resolve"/>), inside the transaction
/// that stores their readings.
/// </summary>
public delegate ScoringWrite TenantScorer(Guid tenantId, IReadOnlyDictionary<string, ScorerState> states,
    IReadOnlyDictionary<string, IsoZoneBoundaries> zones);

/// <summary>The anomaly scores of a machine in a time range: how many, how many anomalous, the worst ISO zone (A..D or null).</summary>
public sealed record AnomalySummary(int Scores, int Anomalies, string? WorstZone);

/// <summary>
/// Anomaly scores, the detector state they continue from, and the models machines learned on their own. Ingest
/// writes them through <see cref="ReadingStore.WriteReadingsAsync(IReadOnlyList{TenantBatch}, TenantScorer?, CancellationToken)"/>,
/// inside the transaction of the readings they score.
/// </summary>
public sealed class ScoreStore(NpgsqlDataSource dataSource)
{
    private const string ScoreColumns = "machine_id, ts, seq, score, threshold, anomaly, isolation_forest, statistical, " +
        "temporal, iso_zone, model, top1_sensor, top1_contribution, top2_sensor, top2_contribution, top3_sensor, " +
        "top3_contribution";

    private const string ListedScoreColumns = "machine_id, ts, seq, score, threshold, anomaly, isolation_forest, statistical, " +
        "temporal, iso_zone, model, array_remove(ARRAY[top1_sensor, top2_sensor, top3_sensor], NULL), " +
        "array_remove(ARRAY[top1_contribution, top2_contribution, top3_contribution], NULL)";

    /// <summary>How many top contributors a score row keeps.</summary>
    public const int TopContributors = 3;

    /// <summary>
    /// Scores the machines of one tenant inside the transaction that stores their readings: their states are read
    /// under FOR UPDATE and handed to <paramref name="score"/>, and what it returns (scores, new states, learned
    /// models) is written before the commit. So two instances never score a machine from the same state, and readings,
    /// scores and states commit together or not at all. A score already stored for a (machine, timestamp) is kept.
    /// </summary>
    /// <returns>The number of score rows inserted.</returns>
    internal static async Task<long> ScoreTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, string[] machineIds, TenantScorer score, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, ScorerState>(StringComparer.Ordinal);
        var zones = new Dictionary<string, IsoZoneBoundaries>(StringComparer.Ordinal);
        // The machines' ISO classes come with their states in the same round trip: ingest's speed is per invocation.
        await using (var select = new NpgsqlBatch(connection, transaction))
        {
            select.BatchCommands.Add(BatchCommand("""
                SELECT machine_id, model, sensors, last_ts, samples, state FROM pdm.scorer_states
                WHERE tenant_id = $1 AND machine_id = ANY($2) FOR UPDATE
                """, tenantId, machineIds));
            select.BatchCommands.Add(BatchCommand("""
                SELECT m.machine_id, m.iso_class, k.iso_class, m.kind FROM pdm.machines m
                LEFT JOIN pdm.machine_kinds k ON k.tenant_id = m.tenant_id AND k.kind = m.kind
                WHERE m.tenant_id = $1 AND m.machine_id = ANY($2)
                """, tenantId, machineIds));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var state = MapScorerState(reader);
                states[state.MachineId] = state;
            }
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                zones[reader.GetString(0)] = IsoZoneClasses.Resolve(NullableString(reader, 1), NullableString(reader, 2), NullableString(reader, 3));
            }
        }

        var write = score(tenantId, states, zones);
        var inserted = await InsertScoresAsync(connection, transaction, tenantId, write.Scores, cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var state in write.States)
        {
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.scorer_states (tenant_id, machine_id, model, sensors, last_ts, samples, state)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (tenant_id, machine_id) DO UPDATE SET model = excluded.model, sensors = excluded.sensors,
                    last_ts = excluded.last_ts, samples = excluded.samples, state = excluded.state, updated_at = now()
                """, tenantId, state.MachineId, state.Model, state.Sensors.ToArray(), state.LastTimestamp,
                state.Samples, state.State));
        }
        foreach (var model in write.LearnedModels)
        {
            batch.BatchCommands.Add(BatchCommand("""
                INSERT INTO pdm.machine_anomaly_models (tenant_id, machine_id, fingerprint, artifact)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, machine_id) DO UPDATE SET fingerprint = excluded.fingerprint,
                    artifact = excluded.artifact, created_at = now()
                """, tenantId, model.MachineId, model.Fingerprint, model.Artifact));
        }
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        return inserted;
    }

    /// <summary>
    /// Benchmark ceiling only, like <see cref="ReadingStore.CopyRawAsync"/>: binary COPY of score rows straight into
    /// pdm.anomaly_scores. Not idempotent, and it needs a role that bypasses row-level security.
    /// </summary>
    public async Task<long> CopyRawScoresAsync(Guid tenantId, IReadOnlyList<AnomalyScoreRow> scores,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scores);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY pdm.anomaly_scores (tenant_id, {ScoreColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var s in scores)
        {
            await writer.StartRowAsync(cancellationToken);
            await writer.WriteAsync(tenantId, NpgsqlDbType.Uuid, cancellationToken);
            await writer.WriteAsync(s.MachineId, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(s.Timestamp.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
            await writer.WriteAsync(s.Sequence, NpgsqlDbType.Bigint, cancellationToken);
            await writer.WriteAsync(s.Score, NpgsqlDbType.Double, cancellationToken);
            await writer.WriteAsync(s.Threshold, NpgsqlDbType.Double, cancellationToken);
            await writer.WriteAsync(s.IsAnomaly, NpgsqlDbType.Boolean, cancellationToken);
            await writer.WriteAsync(s.IsolationForest, NpgsqlDbType.Double, cancellationToken);
            await writer.WriteAsync(s.Statistical, NpgsqlDbType.Double, cancellationToken);
            await writer.WriteAsync(s.Temporal, NpgsqlDbType.Double, cancellationToken);
            await WriteTextOrNullAsync(writer, s.IsoZone, cancellationToken);
            await writer.WriteAsync(s.Model, NpgsqlDbType.Text, cancellationToken);
            for (var k = 0; k < TopContributors; k++)
            {
                if (k < s.TopSensors.Length)
                {
                    await writer.WriteAsync(s.TopSensors[k], NpgsqlDbType.Text, cancellationToken);
                    await writer.WriteAsync(s.TopContributions[k], NpgsqlDbType.Double, cancellationToken);
                }
                else
                {
                    await writer.WriteNullAsync(cancellationToken);
                    await writer.WriteNullAsync(cancellationToken);
                }
            }
        }
        return (long)await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>How many anomaly scores the tenant has.</summary>
    public Task<long> CountAnomalyScoresAsync(Guid tenantId, CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "SELECT count(*) FROM pdm.anomaly_scores");
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);

    private static Task WriteTextOrNullAsync(NpgsqlBinaryImporter writer, string? value, CancellationToken cancellationToken) =>
        value is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    /// <summary>The models these machines learned during their warm-up (machines without one are absent).</summary>
    public Task<List<MachineAnomalyModel>> GetMachineAnomalyModelsAsync(Guid tenantId, IReadOnlyCollection<string> machineIds,
        CancellationToken cancellationToken) =>
        dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                SELECT machine_id, fingerprint, artifact FROM pdm.machine_anomaly_models
                WHERE tenant_id = $1 AND machine_id = ANY($2)
                """, tenantId, machineIds.ToArray());
            return await ReadAllAsync(command,
                r => new MachineAnomalyModel(r.GetString(0), r.GetInt64(1), r.GetFieldValue<byte[]>(2)), cancellationToken);
        }, cancellationToken);

    /// <summary>Counts the machine's anomaly scores in [<paramref name="from"/>, <paramref name="to"/>] and finds their worst ISO zone.</summary>
    public async Task<AnomalySummary> SummarizeAnomalyScoresAsync(Guid tenantId, string machineId, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // Zones are single letters A..D, so the largest is the worst.
            await using var command = Command(connection, transaction, """
                SELECT count(*)::int, (count(*) FILTER (WHERE anomaly))::int, max(iso_zone) FROM pdm.anomaly_scores
                WHERE machine_id = $1 AND ts >= $2 AND ts <= $3
                """, machineId, from.ToUniversalTime(), to.ToUniversalTime());
            return (await ReadFirstAsync(command, reader => new AnomalySummary(reader.GetInt32(0), reader.GetInt32(1),
                NullableString(reader, 2)), cancellationToken))!;
        }, cancellationToken);

    /// <summary>The machine's anomaly scores in [<paramref name="from"/>, <paramref name="to"/>), latest first, optionally only anomalies.</summary>
    public async Task<IReadOnlyList<AnomalyScoreRow>> ListAnomalyScoresAsync(Guid tenantId, string machineId, DateTimeOffset from,
        DateTimeOffset to, int limit, bool anomaliesOnly, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {ListedScoreColumns} FROM pdm.anomaly_scores
                WHERE machine_id = $1 AND ts >= $2 AND ts < $3 AND (anomaly OR NOT $5)
                ORDER BY ts DESC LIMIT $4
                """, machineId, from.ToUniversalTime(), to.ToUniversalTime(), limit, anomaliesOnly);
            return await ReadAllAsync(command, reader => new AnomalyScoreRow
            {
                MachineId = reader.GetString(0),
                Timestamp = reader.GetFieldValue<DateTimeOffset>(1),
                Sequence = reader.GetInt64(2),
                Score = reader.GetDouble(3),
                Threshold = reader.GetDouble(4),
                IsAnomaly = reader.GetBoolean(5),
                IsolationForest = reader.GetDouble(6),
                Statistical = reader.GetDouble(7),
                Temporal = reader.GetDouble(8),
                IsoZone = NullableString(reader, 9),
                Model = reader.GetString(10),
                TopSensors = reader.GetFieldValue<string[]>(11),
                TopContributions = reader.GetFieldValue<double[]>(12),
            }, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// One insert of the batch's scores as parallel arrays (unnest): one round trip, no staging table. The insert lets
    /// the row-level security policy check every row; scores already stored are skipped (optimistically, as readings).
    /// </summary>
    private static async Task<long> InsertScoresAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, IReadOnlyList<AnomalyScoreRow> scores, CancellationToken cancellationToken)
    {
        if (scores.Count == 0)
        {
            return 0;
        }
        var n = scores.Count;
        var machines = new string[n];
        var timestamps = new DateTime[n];
        var sequences = new long[n];
        var values = new double[n];
        var thresholds = new double[n];
        var anomalies = new bool[n];
        var forest = new double[n];
        var statistical = new double[n];
        var temporal = new double[n];
        var zones = new string?[n];
        var models = new string[n];
        var topSensors = new string?[TopContributors][];
        var topContributions = new double?[TopContributors][];
        for (var k = 0; k < TopContributors; k++)
        {
            topSensors[k] = new string?[n];
            topContributions[k] = new double?[n];
        }
        for (var i = 0; i < n; i++)
        {
            var s = scores[i];
            machines[i] = s.MachineId;
            timestamps[i] = s.Timestamp.UtcDateTime;
            sequences[i] = s.Sequence;
            values[i] = s.Score;
            thresholds[i] = s.Threshold;
            anomalies[i] = s.IsAnomaly;
            forest[i] = s.IsolationForest;
            statistical[i] = s.Statistical;
            temporal[i] = s.Temporal;
            zones[i] = s.IsoZone;
            models[i] = s.Model;
            for (var k = 0; k < s.TopSensors.Length && k < TopContributors; k++)
            {
                topSensors[k][i] = s.TopSensors[k];
                topContributions[k][i] = s.TopContributions[k];
            }
        }
        return await InsertOptimisticallyAsync(connection, transaction, $"""
            INSERT INTO pdm.anomaly_scores (tenant_id, {ScoreColumns})
            SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::bigint[], $5::float8[], $6::float8[],
                $7::boolean[], $8::float8[], $9::float8[], $10::float8[], $11::text[], $12::text[], $13::text[],
                $14::float8[], $15::text[], $16::float8[], $17::text[], $18::float8[])
            """, [tenantId, machines, timestamps, sequences, values, thresholds, anomalies, forest, statistical, temporal,
                zones, models, topSensors[0], topContributions[0], topSensors[1], topContributions[1], topSensors[2],
                topContributions[2]], cancellationToken);
    }

    private static ScorerState MapScorerState(NpgsqlDataReader reader) => new()
    {
        MachineId = reader.GetString(0),
        Model = reader.GetString(1),
        Sensors = reader.GetFieldValue<string[]>(2),
        LastTimestamp = reader.GetFieldValue<DateTimeOffset>(3),
        Samples = reader.GetInt64(4),
        State = reader.GetFieldValue<byte[]>(5),
    };
}
