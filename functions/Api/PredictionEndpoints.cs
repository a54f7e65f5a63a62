using System.Text.Json;
using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>
/// Anomaly scores, predictions and their explanations, for tenant keys: a machine's scores and prediction history,
/// and the fleet view (each machine's latest prediction, worst risk first).
/// </summary>
internal static class PredictionEndpoints
{
    private const int MaxScores = 10_000;
    private const int MaxPredictions = 1000;

    public static void MapPredictions(this RouteGroupBuilder v1)
    {
        v1.MapGet("/machines/{machineId}/scores", ListScoresAsync);
        v1.MapGet("/machines/{machineId}/predictions", ListPredictionsAsync);
        v1.MapGet("/predictions", ListLatestPredictionsAsync);
    }

    private static async Task<IResult> ListScoresAsync(string machineId, DateTimeOffset? from, DateTimeOffset? to, int? limit,
        bool? anomaliesOnly, HttpContext http, PdmDatabase database, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        var end = to ?? clock.GetUtcNow();
        var start = from ?? end.AddHours(-1);
        if (start > end)
        {
            return Problems.Invalid("from", "from must not be after to");
        }
        if (limit is < 1 or > MaxScores)
        {
            return Problems.Invalid("limit", $"limit must be between 1 and {MaxScores}");
        }
        if (await database.GetMachineAsync(tenant, machineId, cancellationToken) is null)
        {
            return Problems.NotFound($"no machine '{machineId}' in this tenant");
        }
        var scores = await database.ListAnomalyScoresAsync(tenant, machineId, start, end, limit ?? 1000, anomaliesOnly ?? false, cancellationToken);
        return TypedResults.Ok(new ScoresPage(machineId, start, end, [.. scores.Select(ScoreDto.From)]));
    }

    private static async Task<IResult> ListPredictionsAsync(string machineId, int? limit, HttpContext http, PdmDatabase database,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (limit is < 1 or > MaxPredictions)
        {
            return Problems.Invalid("limit", $"limit must be between 1 and {MaxPredictions}");
        }
        if (await database.GetMachineAsync(tenant, machineId, cancellationToken) is null)
        {
            return Problems.NotFound($"no machine '{machineId}' in this tenant");
        }
        var predictions = await database.ListPredictionsAsync(tenant, machineId, limit ?? 100, cancellationToken);
        return TypedResults.Ok(predictions.Select(PredictionDto.From).ToList());
    }

    private static async Task<IResult> ListLatestPredictionsAsync(HttpContext http, PdmDatabase database, CancellationToken cancellationToken) =>
        TenantOf(http) is { } tenant
            ? TypedResults.Ok((await database.ListLatestPredictionsAsync(tenant, cancellationToken)).Select(PredictionDto.From).ToList())
            : TenantKeyRequired();

    private static Guid? TenantOf(HttpContext http) => http.Principal().TenantId;

    private static IResult TenantKeyRequired() =>
        Problems.Forbidden("This endpoint reads one tenant's data: use a key of that tenant (platform-admin keys manage tenants only).");
}

internal sealed record ScoresPage(string MachineId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ScoreDto> Scores);

internal sealed record ScoreParts(double IsolationForest, double Statistical, double Temporal);

internal sealed record SensorShare(string Sensor, double Contribution);

internal sealed record ScoreDto(DateTimeOffset Timestamp, long Sequence, double Score, double Threshold, bool Anomaly, ScoreParts Parts,
    string? Zone, string Model, IReadOnlyList<SensorShare> TopSensors)
{
    public static ScoreDto From(AnomalyScoreRow row) => new(row.Timestamp, row.Sequence, row.Score, row.Threshold, row.IsAnomaly,
        new ScoreParts(row.IsolationForest, row.Statistical, row.Temporal), row.IsoZone, row.Model,
        [.. row.TopSensors.Zip(row.TopContributions, (sensor, contribution) => new SensorShare(sensor, contribution))]);
}

internal sealed record PredictionDto(string MachineId, DateTimeOffset At, string Health, JsonElement HealthProbabilities,
    double? RulSeconds, double? RulP10Seconds, double? RulP90Seconds, double? FailureProbability24h, double? FailureProbability48h,
    string Risk, IReadOnlyList<string> Models, JsonElement Explanation)
{
    public static PredictionDto From(PredictionRow row) => new(row.MachineId, row.At, row.Health, row.HealthProbabilities,
        row.RulSeconds, row.RulP10Seconds, row.RulP90Seconds, row.FailureProbability24h, row.FailureProbability48h, row.Risk,
        row.Models.Split(',', StringSplitOptions.RemoveEmptyEntries), row.Explanation);
}
