using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// The dashboard's reads over HTTP on a real database: data stored as ingest stores it (the pending notes included),
/// rolled up by the Rollup timer's store call, then read back as the fleet overview and machine charts.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardApiTests(ApiFixture fixture)
{
    // Two days back, on the hour: inside the writer's partition window, and every minute and hour bucket is whole.
    private static readonly DateTimeOffset T0 = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-2).AddHours(6);

    [Fact]
    public async Task Fleet_lists_machines_worst_first_with_counts_and_an_etag()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "fleet");
        var stores = tenant.Stores;
        var now = DateTimeOffset.UtcNow;
        // healthy-1: LOW, recent samples. pump-7: HIGH and an open CRITICAL alert. new-3: named, never sent anything.
        await stores.Readings.WriteReadingsAsync(
        [
            new(tenant.Id, "gw-fleet", [Sample("healthy-1", now.AddMinutes(-1), 1, 20), Sample("pump-7", now.AddMinutes(-3), 1, 30),
                Sample("pump-7", now.AddMinutes(-2), 2, 31)]),
        ], ZoneScorer(("pump-7", now.AddMinutes(-3), "B"), ("pump-7", now.AddMinutes(-2), "C")), CancellationToken.None);
        await stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);
        await stores.Machines.UpsertMachineAsync(tenant.Id, "new-3", "Packer 3", "packaging", CancellationToken.None);
        await stores.Machines.UpsertMachineAsync(tenant.Id, "pump-7", "Pump 7", "pump", CancellationToken.None);
        await stores.Predictions.WritePredictionsAsync(tenant.Id,
        [
            Prediction("healthy-1", now, "HEALTHY", """{"HEALTHY": 1.0}""", "LOW", 0.01, 0.02, 900 * 3600),
            Prediction("pump-7", now, "FAULTY", """{"HEALTHY": 0.1, "WARNING": 0.3, "FAULTY": 0.6}""", "HIGH", 0.55, 0.8, 20 * 3600),
        ], CancellationToken.None);
        await AlertSeeds.OpenAsync(stores, tenant.Id, "pump-7", AlertSeeds.UniqueRuleId(), AlertSeverity.Critical);
        await AlertSeeds.OpenAsync(stores, tenant.Id, "pump-7", AlertSeeds.UniqueRuleId(), AlertSeverity.Medium);
        using (var admin = fixture.Factory.Client(tenant.AdminKey))
        {
            using var described = await admin.PatchAsJsonAsync("api/v1/machines/pump-7", new { location = "Boiler house", criticality = "CRITICAL" });
            Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        }

        using var client = fixture.Factory.Client(tenant.ReaderKey);
        using var response = await client.GetAsync("api/v1/fleet");
        var fleet = await JsonAsync(response);

        Assert.Equal(3, fleet.GetProperty("machineCount").GetInt32());
        Assert.Equal(["pump-7", "healthy-1", "new-3"], Machines(fleet).Select(m => m.GetProperty("machineId").GetString()));
        var pump = Machines(fleet)[0];
        Assert.Equal("Pump 7", pump.GetProperty("name").GetString());
        Assert.Equal("pump", pump.GetProperty("kind").GetString());
        Assert.Equal("Boiler house", pump.GetProperty("location").GetString());
        Assert.Equal("CRITICAL", pump.GetProperty("criticality").GetString());
        Assert.Equal("HIGH", pump.GetProperty("risk").GetString());
        Assert.Equal("C", pump.GetProperty("isoZone").GetString()); // the latest score's zone
        Assert.Equal((0.1 * 1 + 0.3 * 2 / 3.0 + 0.6 / 3.0) / 1.0, pump.GetProperty("health").GetDouble(), 9);
        Assert.Equal(20, pump.GetProperty("rulHours").GetDouble(), 9);
        Assert.Equal(2, pump.GetProperty("openAlerts").GetInt32());
        Assert.Equal("CRITICAL", pump.GetProperty("worstOpenSeverity").GetString());
        Assert.False(pump.GetProperty("silent").GetBoolean());
        Assert.Equal(now.AddMinutes(-2).ToUnixTimeMilliseconds(), pump.GetProperty("lastSeen").GetDateTimeOffset().ToUnixTimeMilliseconds());
        var unknown = Machines(fleet)[2];
        Assert.Equal("UNKNOWN", unknown.GetProperty("risk").GetString());
        Assert.Equal(JsonValueKind.Null, unknown.GetProperty("health").ValueKind);
        Assert.True(unknown.GetProperty("silent").GetBoolean());

        Assert.Equal(1, fleet.GetProperty("machinesByRisk").GetProperty("LOW").GetInt32());
        Assert.Equal(1, fleet.GetProperty("machinesByRisk").GetProperty("HIGH").GetInt32());
        Assert.Equal(1, fleet.GetProperty("machinesByRisk").GetProperty("UNKNOWN").GetInt32());
        Assert.Equal(0, fleet.GetProperty("machinesByRisk").GetProperty("CRITICAL").GetInt32());
        Assert.Equal(1, fleet.GetProperty("openAlertsBySeverity").GetProperty("CRITICAL").GetInt32());
        Assert.Equal(1, fleet.GetProperty("openAlertsBySeverity").GetProperty("MEDIUM").GetInt32());
        Assert.Equal(1, fleet.GetProperty("failuresWithin24h").GetInt32());
        Assert.Equal(1, fleet.GetProperty("failuresWithin48h").GetInt32());
        Assert.Equal(1, fleet.GetProperty("silentMachines").GetInt32());
        Assert.Equal((1.0 + pump.GetProperty("health").GetDouble()) / 2, fleet.GetProperty("averageHealth").GetDouble(), 9);

        // Unchanged: 304 on the tag. A change (another alert) gives a new tag.
        var etag = response.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "api/v1/fleet");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        await AlertSeeds.OpenAsync(stores, tenant.Id, "healthy-1", AlertSeeds.UniqueRuleId(), AlertSeverity.Low);
        using var changed = new HttpRequestMessage(HttpMethod.Get, "api/v1/fleet");
        changed.Headers.IfNoneMatch.Add(etag);
        using var modified = await client.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
        Assert.NotEqual(etag, modified.Headers.ETag);

        // Another tenant sees none of it.
        using var other = fixture.Factory.Client(fixture.Keys["other-tenant-admin"]);
        var theirs = await JsonAsync(await other.GetAsync("api/v1/fleet"));
        Assert.DoesNotContain(Machines(theirs), m => m.GetProperty("machineId").GetString() == "pump-7");
    }

    [Fact]
    public async Task Series_picks_the_finest_resolution_that_fits_and_rollups_match_the_raw_values()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "series");
        // Three hours at one sample every 10 s: 1,080 values per sensor, 180 minutes, 3 hours.
        var samples = Enumerable.Range(0, 1080)
            .Select(i => new MachineSample
            {
                MachineId = "lathe-2",
                Timestamp = T0.AddSeconds(10 * i),
                Sequence = i + 1,
                Values = [new SensorValue("temperature", 40 + (i % 6)), new SensorValue("vibration", 1 + (i / 360))],
            }).ToList();
        await tenant.Stores.Readings.WriteReadingsAsync([new(tenant.Id, "gw-series", samples)], CancellationToken.None);
        // One score per sample, the third (in the first minute) anomalous.
        await ExecuteAsTenantAsync(tenant, """
            WITH stored AS (
                INSERT INTO pdm.anomaly_scores (tenant_id, machine_id, ts, seq, score, threshold, anomaly, isolation_forest,
                    statistical, temporal, iso_zone, model)
                SELECT pdm.current_tenant_id(), 'lathe-2', $1 + i * interval '10 seconds', i + 1, CASE WHEN i = 2 THEN 0.9 ELSE 0.1 END,
                    0.5, i = 2, 0, 0, 0, 'A', 'baseline'
                FROM generate_series(0, 1079) i
                RETURNING 1)
            SELECT count(*) FROM stored
            """, T0);
        Assert.True((await tenant.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None)).Spans >= 1);
        await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "lathe-2", AlertSeeds.UniqueRuleId(), AlertSeverity.High, T0.AddHours(1));
        using var client = fixture.Factory.Client(tenant.ReaderKey);
        var range = $"from={Iso(T0)}&to={Iso(T0.AddHours(3))}";

        var minute = await JsonAsync(await client.GetAsync($"api/v1/machines/lathe-2/series?{range}"));
        Assert.Equal("1m", minute.GetProperty("resolution").GetString());
        var temperature = Sensor(minute, "temperature");
        Assert.Equal("degC", temperature.GetProperty("unit").GetString());
        var points = temperature.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(180, points.Count);
        // The first minute: values 40..45, one each.
        Assert.Equal(Iso(T0), points[0][0].GetString());
        Assert.Equal((42.5, 40.0, 45.0, 6), (points[0][1].GetDouble(), points[0][2].GetDouble(), points[0][3].GetDouble(), points[0][4].GetInt32()));
        var scores = minute.GetProperty("scores").EnumerateArray().ToList();
        Assert.Equal(180, scores.Count);
        Assert.True(scores[0][2].GetBoolean());
        Assert.False(scores[1][2].GetBoolean());
        var alert = Assert.Single(minute.GetProperty("alerts").EnumerateArray());
        Assert.Equal("HIGH", alert.GetProperty("severity").GetString());
        Assert.Equal("open", alert.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(alert.GetProperty("summary").GetString()));

        var raw = await JsonAsync(await client.GetAsync($"api/v1/machines/lathe-2/series?{range}&maxPoints=1080&sensors=vibration"));
        Assert.Equal("raw", raw.GetProperty("resolution").GetString());
        var vibration = Assert.Single(raw.GetProperty("sensors").EnumerateArray());
        Assert.Equal("vibration", vibration.GetProperty("sensor").GetString());
        var rawPoints = vibration.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(1080, rawPoints.Count);
        Assert.All(rawPoints, p => Assert.Equal((p[1].GetDouble(), p[1].GetDouble(), 1), (p[2].GetDouble(), p[3].GetDouble(), p[4].GetInt32())));
        Assert.Equal(1080, raw.GetProperty("scores").GetArrayLength());

        var hour = await JsonAsync(await client.GetAsync($"api/v1/machines/lathe-2/series?{range}&maxPoints=100"));
        Assert.Equal("1h", hour.GetProperty("resolution").GetString());
        var hours = Sensor(hour, "vibration").GetProperty("points").EnumerateArray().ToList();
        Assert.Equal([1.0, 2.0, 3.0], hours.Select(p => p[1].GetDouble()));
        Assert.All(hours, p => Assert.Equal(360, p[4].GetInt32()));

        // A late value lands in its minute and hour at the next run.
        await tenant.Stores.Readings.WriteReadingsAsync(
            [new(tenant.Id, "gw-series", [new MachineSample { MachineId = "lathe-2", Timestamp = T0.AddSeconds(5), Sequence = 5000, Values = [new SensorValue("temperature", 100)] }])],
            CancellationToken.None);
        await tenant.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);
        var late = await JsonAsync(await client.GetAsync($"api/v1/machines/lathe-2/series?{range}&sensors=temperature"));
        var first = Sensor(late, "temperature").GetProperty("points")[0];
        Assert.Equal((100.0, 7), (first[3].GetDouble(), first[4].GetInt32()));
    }

    [Fact]
    public async Task Series_refuses_bad_input_naming_the_field_and_answers_304_on_its_etag()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "series-bad");
        await tenant.Stores.Readings.WriteReadingsAsync([new(tenant.Id, "gw-bad", [Sample("mill-1", T0, 1, 50)])], CancellationToken.None);
        using var client = fixture.Factory.Client(tenant.ReaderKey);

        await ProblemAsync(client, $"api/v1/machines/mill-1/series?from={Iso(T0.AddDays(-40))}&to={Iso(T0)}", "from", "31 days");
        await ProblemAsync(client, $"api/v1/machines/mill-1/series?from={Iso(T0)}&to={Iso(T0)}", "from", "before to");
        await ProblemAsync(client, "api/v1/machines/mill-1/series?from=yesterday", "from", "ISO 8601");
        await ProblemAsync(client, "api/v1/machines/mill-1/series?maxPoints=0", "maxPoints", "1 to 10000");
        await ProblemAsync(client, "api/v1/machines/mill-1/series?sensors=Temp,vibration", "sensors", "lower snake case");
        await ProblemAsync(client, "api/v1/machines/mill-1/series?sensors=a,a", "sensors", "twice");
        using var missing = await client.GetAsync("api/v1/machines/nobody/series");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var url = $"api/v1/machines/mill-1/series?from={Iso(T0.AddMinutes(-5))}&to={Iso(T0.AddMinutes(5))}";
        using var response = await client.GetAsync(url);
        var body = await JsonAsync(response);
        Assert.Equal("raw", body.GetProperty("resolution").GetString());
        Assert.Equal(Iso(T0.AddMinutes(-5)), body.GetProperty("from").GetDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        using var again = new HttpRequestMessage(HttpMethod.Get, url);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        // One more value in the range: the old tag no longer matches.
        await tenant.Stores.Readings.WriteReadingsAsync([new(tenant.Id, "gw-bad", [Sample("mill-1", T0.AddMinutes(1), 2, 51)])], CancellationToken.None);
        using var changed = new HttpRequestMessage(HttpMethod.Get, url);
        changed.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var modified = await client.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
        Assert.NotEqual(response.Headers.ETag, modified.Headers.ETag);
        Assert.Equal(2, Sensor(await JsonAsync(modified), "temperature").GetProperty("points").GetArrayLength());
    }

    private static async Task ProblemAsync(HttpClient client, string url, string field, string reason)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(field, body, StringComparison.Ordinal);
        Assert.Contains(reason, body, StringComparison.Ordinal);
    }

    /// <summary>Runs SQL as the application role with the tenant set, and commits.</summary>
    private async Task ExecuteAsTenantAsync(OwnTenant tenant, string sql, params object[] parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.Database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var set = new Npgsql.NpgsqlCommand("SELECT set_config('pdm.tenant_id', $1, true)", connection, transaction))
        {
            set.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant.Id.ToString() });
            await set.ExecuteNonQueryAsync();
        }
        await using var command = new Npgsql.NpgsqlCommand(sql, connection, transaction);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = value });
        }
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static List<JsonElement> Machines(JsonElement fleet) => [.. fleet.GetProperty("machines").EnumerateArray()];

    private static JsonElement Sensor(JsonElement series, string sensor) =>
        series.GetProperty("sensors").EnumerateArray().Single(s => s.GetProperty("sensor").GetString() == sensor);

    private static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Scores the named samples with the given ISO zones and leaves each machine's detector state at its last one.</summary>
    private static TenantScorer ZoneScorer(params (string Machine, DateTimeOffset At, string Zone)[] scores) => (_, _, _) => new ScoringWrite
    {
        Scores = [.. scores.Select(s => new AnomalyScoreRow
        {
            MachineId = s.Machine, Timestamp = s.At, Sequence = 1, Score = 0.1, Threshold = 1, IsAnomaly = false, IsolationForest = 0.1,
            Statistical = 0.1, Temporal = 0.1, IsoZone = s.Zone, Model = "baseline", TopSensors = [], TopContributions = [],
        })],
        States = [.. scores.GroupBy(s => s.Machine).Select(m => new ScorerState
        {
            MachineId = m.Key, Model = "baseline", Sensors = ["temperature"], LastTimestamp = m.Max(s => s.At), Samples = m.Count(), State = [1],
        })],
    };

    private static MachineSample Sample(string machineId, DateTimeOffset at, long sequence, double temperature) => new()
    {
        MachineId = machineId, Timestamp = at, Sequence = sequence, Values = [new SensorValue("temperature", temperature)],
    };

    private static PredictionRow Prediction(string machineId, DateTimeOffset at, string health, string probabilities, string risk,
        double p24, double p48, double rulSeconds) => new()
    {
        MachineId = machineId, At = at, Health = health, HealthProbabilities = JsonDocument.Parse(probabilities).RootElement.Clone(),
        RulSeconds = rulSeconds, RulP10Seconds = rulSeconds / 2, RulP90Seconds = rulSeconds * 2, FailureProbability24h = p24,
        FailureProbability48h = p48, Risk = risk, Explanation = JsonDocument.Parse("{}").RootElement.Clone(), Models = "",
    };
}
