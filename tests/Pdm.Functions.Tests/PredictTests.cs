using System.Net;
using System.Text.Json;
using Npgsql;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;
using Pdm.AzureStorage;
using Pdm.Prediction;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// The Predict timer under the dev host against PostgreSQL and Azurite, with RUL and state models registered and
/// promoted in the registry, and the API that serves its predictions and the anomaly scores.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class PredictTests(PipelineFixture pipeline)
{
    private static readonly string[] Sensors = ["temperature", "vibration"];

    [Fact]
    public async Task Predict_stores_explained_predictions_per_machine_and_the_api_serves_them_to_their_tenant_only()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (rulName, stateName) = await RegisterModelsAsync(suffix);
        var acme = await pipeline.CreateTenantAsync("acme");
        var other = await pipeline.CreateTenantAsync("other");
        var end = DateTimeOffset.UtcNow.AddSeconds(-1);
        var app = PdmStores.Create(pipeline.Database.AppConnectionString);
        await app.Readings.WriteReadingsAsync([
            new TenantBatch(acme.Id, "gw", [.. Wearing("PUMP_A", end, rows: 150, seed: 1)]),
            new TenantBatch(acme.Id, "gw", [.. Flow("FAN_A", end)]),
            new TenantBatch(other.Id, "gw", [.. Wearing("PUMP_B", end, rows: 120, seed: 2)]),
        ], CancellationToken.None);
        await InsertScoresAsync(acme.Id, "FAN_A", end, count: 10, anomalous: 6, zone: "D");

        var outcome = await pipeline.Host.InvokeTimerAsync("Predict", CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Error);

        using var api = pipeline.Api(acme.Key);
        var fleet = await PipelineFixture.ReadAsync<List<PredictionDto>>(await api.GetAsync("api/v1/predictions"));
        Assert.Equal(["FAN_A", "PUMP_A"], fleet.Select(p => p.MachineId).Order(StringComparer.Ordinal));
        string[] severity = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
        Assert.Equal(fleet.Select(p => Array.IndexOf(severity, p.Risk)).Order(), fleet.Select(p => Array.IndexOf(severity, p.Risk)));

        var pump = Assert.Single(fleet, p => p.MachineId == "PUMP_A");
        Assert.Equal([$"{rulName}@1", $"{stateName}@1"], pump.Models);
        Assert.NotNull(pump.RulSeconds);
        Assert.InRange(pump.FailureProbability24h!.Value, 0, 1);
        Assert.True(pump.RulP10Seconds <= pump.RulP90Seconds);
        Assert.Equal(end.ToUnixTimeSeconds(), pump.At.ToUnixTimeSeconds());
        Assert.Equal(4, pump.HealthProbabilities.EnumerateObject().Count());
        var rul = pump.Explanation.GetProperty("rul");
        var contributions = rul.GetProperty("sensors").EnumerateArray().Select(s => s.GetProperty("contribution").GetDouble()).Sum();
        Assert.Equal(rul.GetProperty("rawSeconds").GetDouble() - rul.GetProperty("expectedSeconds").GetDouble(), contributions, 6);
        Assert.Equal(pump.Health, pump.Explanation.GetProperty("health").GetProperty("state").GetString());

        var fan = Assert.Single(fleet, p => p.MachineId == "FAN_A");
        Assert.Equal(("FAULTY", "HIGH", null, 0), (fan.Health, fan.Risk, fan.RulSeconds, fan.Models.Count));
        Assert.Contains("zone D", fan.Explanation.GetProperty("risk").GetString(), StringComparison.Ordinal);

        // A run without new data stores nothing new: predictions are stamped with the latest sample they used.
        Assert.True((await pipeline.Host.InvokeTimerAsync("Predict", CancellationToken.None)).Succeeded);
        var history = await PipelineFixture.ReadAsync<PageDto<PredictionDto>>(await api.GetAsync("api/v1/machines/PUMP_A/predictions?limit=10"));
        Assert.Single(history.Items);

        var scores = await PipelineFixture.ReadAsync<ScoresDto>(
            await api.GetAsync($"api/v1/machines/FAN_A/scores?anomaliesOnly=true&from={Uri.EscapeDataString(end.AddMinutes(-5).ToString("O"))}"));
        Assert.Equal(6, scores.Scores.Count);
        Assert.All(scores.Scores, s => Assert.Equal(("D", "machine", "flow", true), (s.Zone, s.Model, s.TopSensors[0].Sensor, s.Anomaly)));
        Assert.True(scores.Scores.Zip(scores.Scores.Skip(1), (a, b) => a.Timestamp > b.Timestamp).All(x => x), "latest first");
        Assert.Equal(0.5, scores.Scores[0].Parts.Statistical);

        using var otherApi = pipeline.Api(other.Key);
        Assert.Equal(HttpStatusCode.NotFound, (await otherApi.GetAsync("api/v1/machines/PUMP_A/predictions")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherApi.GetAsync("api/v1/machines/FAN_A/scores")).StatusCode);
        var otherFleet = await PipelineFixture.ReadAsync<List<PredictionDto>>(await otherApi.GetAsync("api/v1/predictions"));
        Assert.Equal("PUMP_B", Assert.Single(otherFleet).MachineId);
        using var admin = pipeline.Api(pipeline.PlatformAdminKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("api/v1/predictions")).StatusCode);
    }

    [Fact]
    public async Task A_tenant_cannot_read_another_tenants_predictions_or_scores_from_storage()
    {
        var app = PdmStores.Create(pipeline.Database.AppConnectionString);
        var a = await pipeline.CreateTenantAsync("iso-a");
        var b = await pipeline.CreateTenantAsync("iso-b");
        var at = DateTimeOffset.UtcNow.AddSeconds(-5);
        await app.Machines.UpsertMachineAsync(a.Id, "MIXER_1", null, null, CancellationToken.None);
        await app.Predictions.WritePredictionsAsync(a.Id, [new PredictionRow
        {
            MachineId = "MIXER_1", At = at, Health = "WARNING", HealthProbabilities = JsonSerializer.SerializeToElement(new { WARNING = 1.0 }),
            Risk = "MEDIUM", Explanation = JsonSerializer.SerializeToElement(new { risk = "health WARNING" }), Models = "",
        }], CancellationToken.None);
        await InsertScoresAsync(a.Id, "MIXER_1", at, count: 3, anomalous: 1, zone: null);

        Assert.Single(await app.Predictions.ListPredictionsAsync(a.Id, "MIXER_1", 10, CancellationToken.None));
        Assert.Single(await app.Predictions.ListLatestPredictionsAsync(a.Id, CancellationToken.None));
        Assert.Equal(3, (await app.Scores.ListAnomalyScoresAsync(a.Id, "MIXER_1", at.AddMinutes(-1), at.AddMinutes(1), 10, false, CancellationToken.None)).Count);
        Assert.Equal(new AnomalySummary(3, 1, null), await app.Scores.SummarizeAnomalyScoresAsync(a.Id, "MIXER_1", at.AddMinutes(-1), at.AddMinutes(1), CancellationToken.None));

        Assert.Empty(await app.Predictions.ListPredictionsAsync(b.Id, "MIXER_1", 10, CancellationToken.None));
        Assert.Empty(await app.Predictions.ListLatestPredictionsAsync(b.Id, CancellationToken.None));
        Assert.Empty(await app.Scores.ListAnomalyScoresAsync(b.Id, "MIXER_1", at.AddMinutes(-1), at.AddMinutes(1), 10, false, CancellationToken.None));
        Assert.Equal(new AnomalySummary(0, 0, null), await app.Scores.SummarizeAnomalyScoresAsync(b.Id, "MIXER_1", at.AddMinutes(-1), at.AddMinutes(1), CancellationToken.None));
        Assert.Null(await app.Readings.ReadMachineSamplesAsync(b.Id, "MIXER_1", at.AddDays(-1), at, 100, CancellationToken.None));
    }

    /// <summary>Trains small RUL and state models on wearing units (1 s samples) and promotes both to production.</summary>
    private async Task<(string Rul, string State)> RegisterModelsAsync(string suffix)
    {
        var units = Enumerable.Range(0, 12).Select(u => ToUnit(Wearing($"u{u}", DateTimeOffset.UnixEpoch, 100 + (u * 10), seed: 10 + u))).ToList();
        var rul = RulModel.Fit(units, new RulModelOptions
        {
            Cap = 200,
            Folds = 3,
            Features = new RulFeatureOptions { Windows = [5, 15] },
            Gbt = new RulModelOptions().Gbt with { MaxIterations = 60 },
        }, seed: 1, Sensors);
        var labels = units.Select(u => Enumerable.Range(0, u.Length).Select(r => (u.Length - r) switch
        {
            <= 5 => MachinePredictor.Broken,
            <= 20 => MachinePredictor.Faulty,
            <= 50 => MachinePredictor.Warning,
            _ => MachinePredictor.Healthy,
        }).ToArray()).ToList();
        var state = StateModel.Fit(units, labels, seed: 2, Sensors);

        var owner = PdmStores.Create(pipeline.Database.OwnerConnectionString);
        var registry = new ModelRegistry(owner.Models,
            StorageClients.FromConnectionString(pipeline.Endpoints.StorageConnectionString).Blobs.GetBlobContainerClient("models"));
        var rulName = $"rul-test-{suffix}";
        var stateName = $"state-test-{suffix}";
        foreach (var (name, kind, write) in new (string, string, Action<Stream>)[] { (rulName, "rul", rul.Write), (stateName, "state", state.Write) })
        {
            using var bytes = new MemoryStream();
            write(bytes);
            var version = await registry.RegisterAsync(name, kind, bytes.ToArray(), "test", new Dictionary<string, double>(),
                new Dictionary<string, string>(), CancellationToken.None);
            await registry.PromoteAsync(name, version.Version, ModelStage.Production, CancellationToken.None);
        }
        return (rulName, stateName);
    }

    /// <summary>A machine that wears out over its rows: temperature and vibration rise, faster towards the end.</summary>
    private static List<MachineSample> Wearing(string machineId, DateTimeOffset end, int rows, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows).Select(r =>
        {
            var wear = Math.Pow((double)r / rows, 2);
            return new MachineSample
            {
                MachineId = machineId,
                Timestamp = end.AddSeconds(r - rows + 1),
                Sequence = r,
                Values = [new SensorValue("temperature", 60 + (30 * wear) + random.NextDouble()),
                    new SensorValue("vibration", 2 + (8 * wear) + (0.2 * random.NextDouble()))],
            };
        })];
    }

    private static List<MachineSample> Flow(string machineId, DateTimeOffset end) =>
        [.. Enumerable.Range(0, 20).Select(r => new MachineSample
        {
            MachineId = machineId,
            Timestamp = end.AddSeconds(r - 19),
            Sequence = r,
            Values = [new SensorValue("flow", 80 + r)],
        })];

    private static UnitSeries ToUnit(List<MachineSample> samples)
    {
        var values = new FeatureMatrix(samples.Count, Sensors.Length);
        for (var r = 0; r < samples.Count; r++)
        {
            values[r, 0] = samples[r].Values[0].Value;
            values[r, 1] = samples[r].Values[1].Value;
        }
        return new UnitSeries(samples[0].MachineId, [.. samples.Select(s => (s.Timestamp - samples[0].Timestamp).TotalSeconds)], values);
    }

    /// <summary>Scores one second apart ending at <paramref name="end"/>, the last <paramref name="anomalous"/> of them anomalous.</summary>
    private async Task InsertScoresAsync(Guid tenantId, string machineId, DateTimeOffset end, int count, int anomalous, string? zone)
    {
        await using var connection = new NpgsqlConnection(pipeline.Database.OwnerConnectionString);
        await connection.OpenAsync();
        for (var i = 0; i < count; i++)
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO pdm.anomaly_scores (tenant_id, machine_id, ts, seq, score, threshold, anomaly, isolation_forest,
                    statistical, temporal, iso_zone, model, top1_sensor, top1_contribution)
                VALUES ($1, $2, $3, $4, $5, 1, $6, 0.25, 0.5, 0.25, $7, 'machine', 'flow', $5)
                """, connection);
            var isAnomaly = i >= count - anomalous;
            foreach (var value in new object?[] { tenantId, machineId, end.AddSeconds(i - count + 1).UtcDateTime, (long)i, isAnomaly ? 2.0 : 0.5, isAnomaly, zone })
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }
            await command.ExecuteNonQueryAsync();
        }
    }
}

public sealed record PredictionDto(string MachineId, DateTimeOffset At, string Health, JsonElement HealthProbabilities, double? RulSeconds,
    double? RulP10Seconds, double? RulP90Seconds, double? FailureProbability24h, double? FailureProbability48h, string Risk,
    IReadOnlyList<string> Models, JsonElement Explanation);

public sealed record ScoresDto(string MachineId, IReadOnlyList<ScoreDto> Scores);

public sealed record ScoreDto(DateTimeOffset Timestamp, double Score, bool Anomaly, ScorePartsDto Parts, string? Zone, string Model,
    IReadOnlyList<SensorShareDto> TopSensors);

public sealed record ScorePartsDto(double IsolationForest, double Statistical, double Temporal);

public sealed record SensorShareDto(string Sensor, double Contribution);
