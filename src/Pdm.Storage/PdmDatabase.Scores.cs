using Npgsql;
using NpgsqlTypes;

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
/// Scores one tenant's machines of a batch, given their stored states (machines never scored are absent), inside
/// the transaction that stores their readings.
/// </summary>
public delegate ScoringWrite TenantScorer(Guid tenantId, IReadOnlyDictionary<string, ScorerState> states);

public sealed partial class PdmDatabase
{
    private const string CreateScoreStagingSql = """
        CREATE TEMP TABLE IF NOT EXISTS pdm_score_staging (
            machine_id text NOT NULL, ts timestamptz NOT NULL, seq bigint NOT NULL, score double precision NOT NULL,
            threshold double precision NOT NULL, anomaly boolean NOT NULL, isolation_forest double precision NOT NULL,
            statistical double precision NOT NULL, temporal double precision NOT NULL, iso_zone text, model text NOT NULL,
            top_sensors text[] NOT NULL, top_contributions double precision[] NOT NULL
        ) ON COMMIT DELETE ROWS
        """;

    private const string ScoreColumns = "machine_id, ts, seq, score, threshold, anomaly, isolation_forest, statistical, " +
        "temporal, iso_zone, model, top_sensors, top_contributions";

    /// <summary>
    /// Scores the machines of one tenant inside the transaction that stores their readings: their states are read
    /// under FOR UPDATE and handed to <paramref name="score"/>, and what it returns (scores, new states, learned
    /// models) is written before the commit. So two instances never score a machine from the same state, and readings,
    /// scores and states commit together or not at all. A score already stored for a (machine, timestamp) is kept.
    /// </summary>
    /// <returns>The number of score rows inserted.</returns>
    private static async Task<long> ScoreTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, string[] machineIds, TenantScorer score, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, ScorerState>(StringComparer.Ordinal);
        await using (var select = Command(connection, transaction, """
            SELECT machine_id, model, sensors, last_ts, samples, state FROM pdm.scorer_states
            WHERE tenant_id = $1 AND machine_id = ANY($2) FOR UPDATE
            """, tenantId, machineIds))
        {
            foreach (var state in await ReadAllAsync(select, MapScorerState, cancellationToken))
            {
                states[state.MachineId] = state;
            }
        }

        var write = score(tenantId, states);
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

    /// <summary>The fingerprints of the models these machines learned during warm-up (machines without one are absent).</summary>
    public Task<IReadOnlyDictionary<string, long>> GetMachineAnomalyModelFingerprintsAsync(Guid tenantId,
        IReadOnlyCollection<string> machineIds, CancellationToken cancellationToken) =>
        InTenantAsync<IReadOnlyDictionary<string, long>>(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "SELECT machine_id, fingerprint FROM pdm.machine_anomaly_models WHERE tenant_id = $1 AND machine_id = ANY($2)",
                tenantId, machineIds.ToArray());
            var rows = await ReadAllAsync(command, r => (Machine: r.GetString(0), Fingerprint: r.GetInt64(1)), cancellationToken);
            return rows.ToDictionary(r => r.Machine, r => r.Fingerprint, StringComparer.Ordinal);
        }, cancellationToken);

    public Task<MachineAnomalyModel?> GetMachineAnomalyModelAsync(Guid tenantId, string machineId,
        CancellationToken cancellationToken) =>
        InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "SELECT machine_id, fingerprint, artifact FROM pdm.machine_anomaly_models WHERE tenant_id = $1 AND machine_id = $2",
                tenantId, machineId);
            return await ReadFirstAsync(command,
                r => new MachineAnomalyModel(r.GetString(0), r.GetInt64(1), r.GetFieldValue<byte[]>(2)), cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// COPY into a staging table, then one insert: PostgreSQL refuses COPY into a table with row-level security, and
    /// the insert lets the policy check every row and skip scores already stored.
    /// </summary>
    private static async Task<long> InsertScoresAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid tenantId, IReadOnlyList<AnomalyScoreRow> scores, CancellationToken cancellationToken)
    {
        if (scores.Count == 0)
        {
            return 0;
        }
        await using (var create = Command(connection, transaction, CreateScoreStagingSql))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var writer = await connection.BeginBinaryImportAsync(
            $"COPY pg_temp.pdm_score_staging ({ScoreColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var s in scores)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(s.MachineId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(s.Timestamp.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(s.Sequence, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(s.Score, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(s.Threshold, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(s.IsAnomaly, NpgsqlDbType.Boolean, cancellationToken);
                await writer.WriteAsync(s.IsolationForest, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(s.Statistical, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(s.Temporal, NpgsqlDbType.Double, cancellationToken);
                if (s.IsoZone is null)
                {
                    await writer.WriteNullAsync(cancellationToken);
                }
                else
                {
                    await writer.WriteAsync(s.IsoZone, NpgsqlDbType.Text, cancellationToken);
                }
                await writer.WriteAsync(s.Model, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(s.TopSensors, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(s.TopContributions, NpgsqlDbType.Array | NpgsqlDbType.Double, cancellationToken);
            }
            await writer.CompleteAsync(cancellationToken);
        }
        await using var insert = Command(connection, transaction, $"""
            INSERT INTO pdm.anomaly_scores (tenant_id, {ScoreColumns})
            SELECT $1, {ScoreColumns} FROM pg_temp.pdm_score_staging ORDER BY machine_id, ts
            ON CONFLICT DO NOTHING
            """, tenantId);
        return await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand BatchCommand(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
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
