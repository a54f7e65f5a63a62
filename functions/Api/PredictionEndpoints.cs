using System.Text.Json;
using Pdm.Storage;
using Pdm.Telemetry;
using static Pdm.Functions.Api.MachineQuery;

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
        v1.MapGet("/machines/{machineId}/scores", ListScoresAsync)
            .WithName("ListScores").WithSummary("Anomaly scores of one machine in a time range, with their parts, newest first, a page at a time").Produces<ScoresPage>();
        v1.MapGet("/machines/{machineId}/predictions", ListPredictionsAsync)
            .WithName("ListMachinePredictions").WithSummary("Predictions of one machine, newest first, with explanations, a page at a time").Produces<Page<PredictionDto>>();
        v1.MapGet("/predictions", ListLatestPredictionsAsync)
            .WithName("ListLatestPredictions").WithSummary("The latest prediction of every machine (ETag)").Produces<IReadOnlyList<PredictionDto>>();
    }

    /// <summary>Newest first in [from, to); a machine has one score per time, so the next page ends at the cursor's time.</summary>
    private static async Task<IResult> ListScoresAsync(string machineId, string? from, string? to, string? cursor, string? limit,
        string? anomaliesOnly, HttpContext http, MachineStore machines, ScoreStore scoreStore, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (query, problem) = await MachineQuery.CheckAsync(machineId, from, to, limit, 1000, MaxScores, http, machines, clock,
            cancellationToken);
        if (query is null)
        {
            return problem!;
        }
        if (QueryValues.Flag(anomaliesOnly, "anomaliesOnly", out var onlyAnomalies) is { } badFlag)
        {
            return Problems.Invalid("anomaliesOnly", badFlag);
        }
        if (Paging.Check(cursor, null, 1, 1, out var after, out _) is { } badCursor)
        {
            return badCursor;
        }
        var end = after is { } last && last.At < query.End ? last.At : query.End;
        var scores = await scoreStore.ListAnomalyScoresAsync(query.Tenant, machineId, query.Start, end, query.Limit + 1,
            onlyAnomalies, cancellationToken);
        var page = Paging.Build(http, [.. scores.Select(ScoreDto.From)], query.Limit,
            s => new PageCursor(s.Timestamp, s.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)), Paging.Range(query.Start, query.End));
        return TypedResults.Ok(new ScoresPage(machineId, query.Start, query.End, page.Items, page.Next, page.NextLink));
    }

    /// <summary>The prediction history, latest first; from/to ([from, to)) on the prediction's time, unbounded by default.</summary>
    private static async Task<IResult> ListPredictionsAsync(string machineId, string? from, string? to, string? cursor, string? limit, HttpContext http,
        MachineStore machines, PredictionStore predictionStore, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Paging.CheckRange(from, to, cursor, limit, 100, MaxPredictions, out var page, out var rows) is { } badPage)
        {
            return badPage;
        }
        var (query, problem) = await MachineQuery.CheckAsync(machineId, null, null, null, 1, 1, http, machines, clock, cancellationToken);
        if (query is null)
        {
            return problem!;
        }
        var predictions = await predictionStore.ListPredictionsAsync(query.Tenant, machineId, page, cancellationToken);
        return TypedResults.Ok(Paging.Build(http, [.. predictions.Select(PredictionDto.From)], rows, p => new PageCursor(p.At, p.MachineId)));
    }

    private static async Task<IResult> ListLatestPredictionsAsync(HttpContext http, PredictionStore predictions, CancellationToken cancellationToken) =>
        TenantOf(http) is { } tenant
            // Polled by dashboards: If-None-Match with the last ETag gives 304 while no prediction changed.
            ? ETags.Json(http, (await predictions.ListLatestPredictionsAsync(tenant, cancellationToken)).Select(PredictionDto.From).ToList())
            : TenantKeyRequired();
}

/// <param name="Next">The cursor of the following page (null on the last); <paramref name="NextLink"/> fetches it.</param>
internal sealed record ScoresPage(string MachineId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ScoreDto> Scores,
    string? Next = null, string? NextLink = null);

internal sealed record ScoreParts(double IsolationForest, double Statistical, double Temporal);

internal sealed record SensorShare(string Sensor, double Contribution);

internal sealed record ScoreDto(DateTimeOffset Timestamp, long Sequence, double Score, double Threshold, bool Anomaly, ScoreParts Parts,
    VibrationZone? Zone, string Model, IReadOnlyList<SensorShare> TopSensors)
{
    public static ScoreDto From(AnomalyScoreRow row) => new(row.Timestamp, row.Sequence, row.Score, row.Threshold, row.IsAnomaly,
        new ScoreParts(row.IsolationForest, row.Statistical, row.Temporal), VibrationZoneText.ParseOrNull(row.IsoZone), row.Model,
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
