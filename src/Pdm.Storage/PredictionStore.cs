using System.Text.Json;
using Npgsql;
using static Pdm.Storage.StoreSql;

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

/// <summary>Predictions stored, and what the alert evaluation in their transaction wrote (outbox rows to publish).</summary>
public readonly record struct PredictionWriteResult(int Stored, AlertWriteResult Alerts);

/// <summary>What the predictor concluded per machine: health, remaining useful life, risk.</summary>
public sealed class PredictionStore(NpgsqlDataSource dataSource)
{
    private const string PredictionColumns = "machine_id, at, health, health_probabilities::text, rul_seconds, rul_p10_seconds, " +
        "rul_p90_seconds, failure_probability_24h, failure_probability_48h, risk, explanation::text, models";

    /// <summary>Stores predictions of the tenant's machines; one already stored for the same machine and time is kept.</summary>
    /// <returns>How many were stored.</returns>
    public async Task<int> WritePredictionsAsync(Guid tenantId, IReadOnlyList<PredictionRow> predictions, CancellationToken cancellationToken) =>
        (await WritePredictionsAsync(tenantId, predictions, alert: null, cancellationToken)).Stored;

    /// <summary>
    /// Stores predictions of the tenant's machines and, when <paramref name="alert"/> is set, evaluates those machines'
    /// alert rules in the same transaction (see <see cref="AlertStore.EvaluateTenantAsync"/>): predictions, alert
    /// states, alerts, their events and outbox rows commit together or not at all. One already stored for the same
    /// machine and time is kept.
    /// </summary>
    public async Task<PredictionWriteResult> WritePredictionsAsync(Guid tenantId, IReadOnlyList<PredictionRow> predictions,
        TenantAlerter? alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var stored = await InsertAsync(connection, transaction, tenantId, predictions, cancellationToken);
            if (alert is null || predictions.Count == 0)
            {
                return new PredictionWriteResult(stored, default);
            }
            AlertSubject[] subjects = [.. predictions.Select(p => p.MachineId).Distinct(StringComparer.Ordinal).Select(AlertSubject.Machine)];
            return new PredictionWriteResult(stored,
                await AlertStore.EvaluateTenantAsync(connection, transaction, tenantId, subjects, alert, cancellationToken));
        }, cancellationToken);
    }

    private static async Task<int> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        IReadOnlyList<PredictionRow> predictions, CancellationToken cancellationToken)
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
    }

    /// <summary>The machine's predictions, latest first.</summary>
    public Task<IReadOnlyList<PredictionRow>> ListPredictionsAsync(Guid tenantId, string machineId, int limit,
        CancellationToken cancellationToken) =>
        ListPredictionsAsync(tenantId, machineId, new PageRequest { Limit = limit }, cancellationToken);

    /// <summary>A page of them, latest first, made at [From, To), before <c>AfterAt</c> (a machine has one per time).</summary>
    public async Task<IReadOnlyList<PredictionRow>> ListPredictionsAsync(Guid tenantId, string machineId, PageRequest page,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {PredictionColumns} FROM pdm.predictions
                WHERE machine_id = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)
                  AND ($4::timestamptz IS NULL OR at < $4)
                ORDER BY at DESC LIMIT $5
                """, machineId, page.From, page.To, page.AfterAt, page.Limit);
            return await ReadAllAsync(command, MapPrediction, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// The latest prediction of each of the tenant's machines that has one, worst risk first, then the highest
    /// probability of failure within 24 h, then machine id.
    /// </summary>
    public async Task<IReadOnlyList<PredictionRow>> ListLatestPredictionsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
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
