using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Ingest.Scoring;
using Pdm.Prediction;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Ingest.Tests;

[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AnomalyScoringTests(RegistryFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Sensors = ["current", "temperature", "vibration"];

    [Fact]
    public async Task A_machine_without_a_model_scores_on_the_baseline_then_on_the_model_it_learned()
    {
        var tenant = await NewTenantAsync();
        var samples = Machine("pump-1", 700, seed: 1);

        var outcome = await StoreAsync(Scoring(), tenant, samples);

        Assert.Equal(700, outcome.Written.ScoresInserted);
        var rows = await ScoresAsync(tenant, "pump-1");
        Assert.Equal(samples.Select(s => s.Sequence), rows.Select(r => r.Seq));
        var baseline = rows.TakeWhile(r => r.Model == AnomalyScoring.Baseline).Count();
        Assert.Equal(MachineAnomalyTracker.DefaultWarmupSamples, baseline);
        Assert.All(rows.Skip(baseline), r => Assert.Equal(AnomalyScoring.Learned, r.Model));
        Assert.Single(await fixture.AppDatabase.Scores.GetMachineAnomalyModelsAsync(tenant, ["pump-1"], CancellationToken.None));
        // Normal data: few alarms, and every score names the sensors behind it.
        Assert.InRange(rows.Count(r => r.Anomaly), 0, 35);
        Assert.All(rows.Where(r => r.Score > 0), r => Assert.Contains(r.TopSensor, Sensors));
    }

    [Fact]
    public async Task Scores_are_identical_whether_one_instance_sees_every_batch_or_batches_move_between_instances()
    {
        var together = await NewTenantAsync();
        var moved = await NewTenantAsync();
        var samples = Machine("press-7", 800, seed: 2);

        await StoreAsync(Scoring(), together, samples);
        // Nine batches, each on a new instance (nothing kept in memory): the state travels through the database,
        // across the warm-up switch at sample 512.
        foreach (var batch in samples.Chunk(90))
        {
            await StoreAsync(Scoring(), moved, batch);
        }

        var expected = await ScoresAsync(together, "press-7");
        var actual = await ScoresAsync(moved, "press-7");
        Assert.Equal(800, actual.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_replayed_batch_is_not_scored_twice_and_leaves_the_state_as_it_was()
    {
        var tenant = await NewTenantAsync();
        var samples = Machine("mill-2", 200, seed: 3);
        var scoring = Scoring();
        await StoreAsync(scoring, tenant, samples);
        var before = await ScoresAsync(tenant, "mill-2");

        var replay = await StoreAsync(scoring, tenant, samples);
        await StoreAsync(scoring, tenant, Machine("mill-2", 210, seed: 3).Skip(200));

        Assert.Equal(0, replay.Written.ScoresInserted);
        Assert.Equal(200, replay.Scorer.Late);
        var after = await ScoresAsync(tenant, "mill-2");
        Assert.Equal(before, after.Take(200));
        Assert.Equal(210, after.Count);
    }

    [Fact]
    public async Task A_machine_sending_a_production_models_sensors_is_scored_by_it_and_a_new_promotion_takes_over()
    {
        var tenant = await NewTenantAsync();
        var prefix = RegistryFixture.NewName()[2..10];
        string[] features = [.. Sensors.Select(s => $"{prefix}_{s}")];
        var name = RegistryFixture.NewName();
        var model = Fit(features, seed: 4);
        await RegisterAsync(name, model, promote: true);
        var cache = new ProductionModelCache(fixture.AppRegistry, checkInterval: TimeSpan.Zero);
        var models = ModelKinds.AnomalyModels(cache);
        var scoring = new AnomalyScoring(fixture.AppDatabase.Scores, models, Warmup, NullLogger<AnomalyScoring>.Instance);
        var stream = Machine("pump-9", 300, seed: 5, features);
        // A machine that sends only two of the model's sensors is not served by it.
        var partial = Machine("pump-10", 50, seed: 5, features[..2]);

        await StoreAsync(scoring, tenant, [.. stream.Take(100), .. partial]);
        await RegisterAsync(name, Fit(features, seed: 6), promote: true);
        await StoreAsync(scoring, tenant, stream.Skip(100));

        var rows = await ScoresAsync(tenant, "pump-9");
        Assert.All(rows.Take(100), r => Assert.Equal($"{name}@1", r.Model));
        Assert.All(rows.Skip(100), r => Assert.Equal($"{name}@2", r.Model));
        Assert.All(await ScoresAsync(tenant, "pump-10"), r => Assert.Equal(AnomalyScoring.Baseline, r.Model));
    }

    [Fact]
    public async Task A_vibration_fault_is_flagged_and_its_sensor_named()
    {
        var tenant = await NewTenantAsync();
        var samples = Machine("fan-3", 700, seed: 7);
        // Bearing damage from sample 650: vibration well inside ISO 10816 zone D.
        var faulty = samples.Select(s => s.Sequence < 650 ? s : s with
        {
            Values = [.. s.Values.Select(v => v.Sensor == "vibration" ? v with { Value = 12.0 } : v)],
        }).ToList();

        await StoreAsync(Scoring(), tenant, faulty);

        var rows = await ScoresAsync(tenant, "fan-3");
        Assert.All(rows.Skip(650), r =>
        {
            Assert.True(r.Anomaly);
            Assert.Equal("D", r.Zone);
            Assert.Equal("vibration", r.TopSensor);
        });
    }

    /// <summary>What Ingest does: readings and their scores in one write.</summary>
    private async Task<(IngestWriteResult Written, AnomalyScoring.BatchScorer Scorer)> StoreAsync(AnomalyScoring scoring,
        Guid tenant, IEnumerable<MachineSample> samples)
    {
        List<TenantBatch> batches = [new TenantBatch(tenant, "gateway-1", [.. samples])];
        var scorer = await scoring.PrepareAsync(batches, CancellationToken.None);
        var written = await fixture.AppDatabase.Readings.WriteReadingsAsync(batches, scorer.Score, CancellationToken.None);
        return (written, scorer);
    }

    // Consecutive samples: the tests' machines learn after 512 samples, not after a day.
    private static readonly AnomalyWarmupOptions Warmup = new() { MinimumSpan = TimeSpan.Zero };

    private AnomalyScoring Scoring() => new(fixture.AppDatabase.Scores, null, Warmup, NullLogger<AnomalyScoring>.Instance);

    private async Task<Guid> NewTenantAsync() =>
        (await fixture.OwnerDatabase.Tenants.CreateTenantAsync($"t-{Guid.NewGuid():N}", CancellationToken.None)).Id;

    private async Task RegisterAsync(string name, AnomalyModel model, bool promote)
    {
        var version = await fixture.Registry.RegisterAsync(name, ModelKinds.Anomaly, model.ToBytes(), "test",
            new Dictionary<string, double>(), new Dictionary<string, string>(), CancellationToken.None);
        if (promote)
        {
            await fixture.Registry.PromoteAsync(name, version.Version, ModelStage.Production, CancellationToken.None);
        }
    }

    private static AnomalyModel Fit(string[] features, ulong seed)
    {
        var samples = Machine("training", 600, seed: (int)seed, features);
        var values = samples.SelectMany(s => s.Values.Select(v => v.Value)).ToArray();
        var table = new SensorTable(features, [.. samples.Select(s => (double)s.Sequence)], values);
        return AnomalyModel.Fit(table, seed: seed).Model!;
    }

    /// <summary>A healthy machine at 1 Hz: temperature follows a slow load cycle, current follows temperature.</summary>
    private static List<MachineSample> Machine(string machineId, int count, int seed, string[]? names = null)
    {
        names ??= Sensors;
        var random = new Random(seed);
        var samples = new List<MachineSample>(count);
        for (var i = 0; i < count; i++)
        {
            var temperature = 60 + (5 * Math.Sin(i / 50.0)) + random.NextDouble();
            double[] values = [10 + (0.1 * temperature) + (0.2 * random.NextDouble()), temperature, 1.5 + (0.2 * random.NextDouble())];
            samples.Add(new MachineSample
            {
                MachineId = machineId,
                Timestamp = Start.AddSeconds(i),
                Sequence = i,
                Values = [.. names.Select((n, k) => new SensorValue(n, values[k]))],
            });
        }
        return samples;
    }

    /// <param name="TopSensors">Comma-joined, so rows compare by value.</param>
    private sealed record ScoreRow(long Seq, double Score, bool Anomaly, string? Zone, string Model, string TopSensor,
        string TopSensors);

    private async Task<List<ScoreRow>> ScoresAsync(Guid tenant, string machineId)
    {
        await using var connection = new NpgsqlConnection(fixture.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT seq, score, anomaly, iso_zone, model, array_remove(ARRAY[top1_sensor, top2_sensor, top3_sensor], NULL)
            FROM pdm.anomaly_scores
            WHERE tenant_id = $1 AND machine_id = $2 ORDER BY ts
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = machineId });
        var rows = new List<ScoreRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var top = reader.GetFieldValue<string[]>(5);
            rows.Add(new ScoreRow(reader.GetInt64(0), reader.GetDouble(1), reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), top.FirstOrDefault() ?? "", string.Join(',', top)));
        }
        return rows;
    }
}
