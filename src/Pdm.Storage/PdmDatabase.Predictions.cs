using System.Text.Json;
using Npgsql;

namespace Pdm.Storage;

/// <summary>A stored prediction of one machine (see pdm.predictions); the JSON members are kept as written.</summary>
public sealed record PredictionRow
{
    public required string MachineId { get; init; }
    public required DateTimeOffset At { get; init; }
    public required string Health { get; init; }

    /// <summary>A JSON object of class probabilities, empty when no state model decided.</summary>
    public required JsonElement HealthProbabilities { get; init; }

    public double? RulSeconds { get; init; }
    public double? RulP10Seconds { get; init; }
    public double? RulP90Seconds { get; init; }
    public double? FailureProbability24h { get; init; }
    public double? FailureProbability48h { get; init; }

    /// <summary>LOW, MEDIUM, HIGH or CRITICAL.</summary>
    public required string Risk { get; init; }

    public required JsonElement Explanation { get; init; }

    /// <summary>The registry versions that made the prediction, e.g. "rul-pump@3,state-pump@2" (empty: none).</summary>
    public required string Models { get; init; }
}

/// <summary>
/// A machine's latest samples as a time x sensor table: <see cref="Values"/> is row-major, one row per timestamp and
/// one column per sensor, NaN where a sample lacks a sensor.
/// </summary>
public sealed record MachineSamples(string MachineId, IReadOnlyList<DateTimeOffset> Timestamps, IReadOnlyList<string> Sensors, double[] Values);

/// <summary>The anomaly scores of a machine in a time range: how many, how many anomalous, the worst ISO zone (A..D or null).</summary>
public sealed record AnomalySummary(int Scores, int Anomalies, string? WorstZone);

public sealed partial class PdmDatabase
{
    private const string PredictionColumns = "machine_id, at, health, health_probabilities::text, rul_seconds, rul_p10_seconds, " +
        "rul_p90_seconds, failure_probability_24h, failure_probability_48h, risk, explanation::text, models";

    private const string ListedScoreColumns = "machine_id, ts, seq, score, threshold, anomaly, isolation_forest, statistical, " +
        "temporal, iso_zone, model, array_remove(ARRAY[top1_sensor, top2_sensor, top3_sensor], NULL), " +
        "array_remove(ARRAY[top1_contribution, top2_contribution, top3_contribution], NULL)";

    /// <summary>The tenant's machines with a reading at or after <paramref name="since"/>, by id.</summary>
    public async Task<IReadOnlyList<string>> ListActiveMachinesAsync(Guid tenantId, DateTimeOffset since, CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
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
        var rows = await InTenantAsync(tenantId, async (connection, transaction) =>
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

    /// <summary>Counts the machine's anomaly scores in [<paramref name="from"/>, <paramref name="to"/>] and finds their worst ISO zone.</summary>
    public async Task<AnomalySummary> SummarizeAnomalyScoresAsync(Guid tenantId, string machineId, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // Zones are single letters A..D, so the largest is the worst.
            await using var command = Command(connection, transaction, """
                SELECT count(*)::int, (count(*) FILTER (WHERE anomaly))::int, max(iso_zone) FROM pdm.anomaly_scores
                WHERE machine_id = $1 AND ts >= $2 AND ts <= $3
                """, machineId, from.ToUniversalTime(), to.ToUniversalTime());
            return (await ReadFirstAsync(command, reader => new AnomalySummary(reader.GetInt32(0), reader.GetInt32(1),
                NullableString(reader, 2)), cancellationToken))!;
        }, cancellationToken);

    /// <summary>Stores predictions of the tenant's machines; one already stored for the same machine and time is kept.</summary>
    /// <returns>How many were stored.</returns>
    public async Task<int> WritePredictionsAsync(Guid tenantId, IReadOnlyList<PredictionRow> predictions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var stored = 0;
            foreach (var p in predictions)
            {
                await using var command = Command(connection, transaction, """
                    INSERT INTO pdm.predictions (tenant_id, machine_id, at, health, health_probabilities, rul_seconds, rul_p10_seconds,
                        rul_p90_seconds, failure_probability_24h, failure_probability_48h, risk, explanation, models)
                    VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12::jsonb, $13)
                    ON CONFLICT (tenant_id, machine_id, at) DO NOTHING
                    """, tenantId, p.MachineId, p.At.ToUniversalTime(), p.Health, p.HealthProbabilities.GetRawText(), p.RulSeconds,
                    p.RulP10Seconds, p.RulP90Seconds, p.FailureProbability24h, p.FailureProbability48h, p.Risk,
                    p.Explanation.GetRawText(), p.Models);
                stored += await command.ExecuteNonQueryAsync(cancellationToken);
            }
            return stored;
        }, cancellationToken);
    }

    /// <summary>The machine's predictions, latest first.</summary>
    public async Task<IReadOnlyList<PredictionRow>> ListPredictionsAsync(Guid tenantId, string machineId, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                $"SELECT {PredictionColumns} FROM pdm.predictions WHERE machine_id = $1 ORDER BY at DESC LIMIT $2", machineId, limit);
            return await ReadAllAsync(command, MapPrediction, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// The latest prediction of each of the tenant's machines that has one, worst risk first, then the highest
    /// probability of failure within 24 h, then machine id.
    /// </summary>
    public async Task<IReadOnlyList<PredictionRow>> ListLatestPredictionsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // One index probe per machine instead of scanning every prediction ever made.
            await using var command = Command(connection, transaction, $"""
                SELECT {PredictionColumns} FROM (
                    SELECT latest.* FROM pdm.machines m
                    CROSS JOIN LATERAL (
                        SELECT * FROM pdm.predictions p WHERE p.machine_id = m.machine_id ORDER BY p.at DESC LIMIT 1) latest) fleet
                ORDER BY array_position(ARRAY['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], risk), failure_probability_24h DESC NULLS LAST,
                    machine_id
                """);
            return await ReadAllAsync(command, MapPrediction, cancellationToken);
        }, cancellationToken);

    /// <summary>The machine's anomaly scores in [<paramref name="from"/>, <paramref name="to"/>), latest first, optionally only anomalies.</summary>
    public async Task<IReadOnlyList<AnomalyScoreRow>> ListAnomalyScoresAsync(Guid tenantId, string machineId, DateTimeOffset from,
        DateTimeOffset to, int limit, bool anomaliesOnly, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await InTenantAsync(tenantId, async (connection, transaction) =>
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

    private static PredictionRow MapPrediction(NpgsqlDataReader reader) => new()
    {
        MachineId = reader.GetString(0),
        At = reader.GetFieldValue<DateTimeOffset>(1),
        Health = reader.GetString(2),
        HealthProbabilities = ParseJson(reader.GetString(3)),
        RulSeconds = NullableValue<double>(reader, 4),
        RulP10Seconds = NullableValue<double>(reader, 5),
        RulP90Seconds = NullableValue<double>(reader, 6),
        FailureProbability24h = NullableValue<double>(reader, 7),
        FailureProbability48h = NullableValue<double>(reader, 8),
        Risk = reader.GetString(9),
        Explanation = ParseJson(reader.GetString(10)),
        Models = reader.GetString(11),
    };

    private static JsonElement ParseJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
