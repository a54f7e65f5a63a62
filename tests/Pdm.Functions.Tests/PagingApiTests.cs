using System.Net;
using System.Text.Json;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// Every paged list, walked page by page through the real app and database while rows are added: each row that
/// existed when the walk began is seen exactly once, nothing is seen twice, another tenant's rows never show, and a
/// made-up cursor is a 400 naming <c>cursor</c>.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class PagingApiTests(ApiFixture fixture)
{
    private const int Rows = 7;
    private const int Limit = 3;
    private static readonly DateTimeOffset Recent = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddMinutes(-30);

    [Fact]
    public async Task Devices_page_by_id()
    {
        var (a, b) = await TenantsAsync();
        var added = 0;
        for (var i = 0; i < Rows; i++)
        {
            await a.Stores.Devices.RegisterDeviceAsync(a.Id, Id("dev", i), CancellationToken.None);
        }
        await b.Stores.Devices.RegisterDeviceAsync(b.Id, Id("dev-b", 0), CancellationToken.None);
        var expected = Enumerable.Range(0, Rows).Select(i => Id("dev", i)).ToList();

        var seen = await WalkAsync(a, "api/v1/devices", "deviceId",
            async () => await a.Stores.Devices.RegisterDeviceAsync(a.Id, Id("dev-late", added++), CancellationToken.None));

        AssertOnceEach(expected, seen, "dev-late");
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        await AssertBadCursorAsync(a, "api/v1/devices");
    }

    [Fact]
    public async Task Rejects_page_newest_first_within_a_time_range()
    {
        var (a, b) = await TenantsAsync();
        // Two rejects share each time: the id breaks the tie, so none falls between pages.
        var expected = new List<string>();
        for (var i = 0; i < Rows; i++)
        {
            var key = Id("rj", i);
            await a.Stores.Rejects.WriteRejectsAsync([Reject(a.Id, key, Recent.AddSeconds(i / 2))], CancellationToken.None);
            expected.Add(key);
        }
        await a.Stores.Rejects.WriteRejectsAsync([Reject(a.Id, Id("rj-old", 0), Recent.AddHours(-2))], CancellationToken.None);
        await b.Stores.Rejects.WriteRejectsAsync([Reject(b.Id, Id("rj-b", 0), Recent)], CancellationToken.None);
        var added = 0;

        var seen = await WalkAsync(a, $"api/v1/rejects?from={Iso(Recent.AddMinutes(-1))}", "messageKey",
            async () => await a.Stores.Rejects.WriteRejectsAsync([Reject(a.Id, Id("rj-late", added++), Recent.AddSeconds(1))], CancellationToken.None));

        AssertOnceEach(expected, seen, "rj-late");
        await AssertBadCursorAsync(a, "api/v1/rejects");
    }

    [Fact]
    public async Task Dead_letters_page_latest_first()
    {
        var (a, b) = await TenantsAsync();
        var subscription = await SubscriptionSeeds.CreateAsync(fixture.Factory, a.Id);
        var other = await SubscriptionSeeds.CreateAsync(fixture.Factory, b.Id);
        for (var i = 0; i < Rows; i++)
        {
            await a.Stores.Subscriptions.AddDeadLetterAsync(a.Id, subscription.Id, Id("ev", i), """{"type":"alert.opened"}""", 3, "503", CancellationToken.None);
        }
        await b.Stores.Subscriptions.AddDeadLetterAsync(b.Id, other.Id, Id("ev-b", 0), """{"type":"alert.opened"}""", 3, "503", CancellationToken.None);
        var added = 0;

        var seen = await WalkAsync(a, "api/v1/webhooks/dead-letters", "eventId",
            async () => await a.Stores.Subscriptions.AddDeadLetterAsync(a.Id, subscription.Id, Id("ev-late", added++), """{"type":"alert.opened"}""", 3, "503", CancellationToken.None));

        AssertOnceEach(Enumerable.Range(0, Rows).Select(i => Id("ev", i)).ToList(), seen, "ev-late");
        await AssertBadCursorAsync(a, "api/v1/webhooks/dead-letters");
    }

    [Fact]
    public async Task Api_keys_page_oldest_first()
    {
        var (a, b) = await TenantsAsync();
        var expected = (await a.Stores.ApiKeys.ListApiKeysAsync(a.Id, CancellationToken.None)).Select(k => k.Prefix).ToList();
        for (var i = 0; i < Rows; i++)
        {
            expected.Add((await a.Stores.ApiKeys.CreateApiKeyAsync(a.Id, Id("key", i), ApiKeyRole.Viewer, CancellationToken.None)).Key.Prefix);
        }

        var seen = await WalkAsync(a, $"api/v1/tenants/{a.Id}/api-keys", "prefix",
            async () => await a.Stores.ApiKeys.CreateApiKeyAsync(a.Id, "late", ApiKeyRole.Viewer, CancellationToken.None));

        AssertOnceEach(expected, seen[..expected.Count], "none");
        Assert.Equal(expected, seen[..expected.Count]);
        using var client = fixture.Factory.Client(b.AdminKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"api/v1/tenants/{a.Id}/api-keys?limit=1")).StatusCode);
        await AssertBadCursorAsync(a, $"api/v1/tenants/{a.Id}/api-keys");
    }

    [Fact]
    public async Task Tenants_page_oldest_first_for_the_platform_admin_and_a_tenant_key_sees_its_own()
    {
        var (a, _) = await TenantsAsync();
        var expected = (await a.Stores.Tenants.ListTenantsAsync(CancellationToken.None)).OrderBy(t => t.CreatedAt).ThenBy(t => t.Id)
            .Select(t => t.Name).ToList();
        for (var i = 0; i < Rows; i++)
        {
            expected.Add((await a.Stores.Tenants.CreateTenantAsync(Id("paged-tenant", i) + Guid.NewGuid().ToString("N")[..8], CancellationToken.None)).Name);
        }

        var seen = await WalkAsync(fixture.Keys["platform-admin"], "api/v1/tenants", "items", t => t.GetProperty("name").GetString()!,
            async () => await a.Stores.Tenants.CreateTenantAsync("late-tenant-" + Guid.NewGuid().ToString("N")[..8], CancellationToken.None));

        AssertOnceEach(expected, [.. seen.Take(expected.Count)], "late-tenant-");
        using var client = fixture.Factory.Client(a.AdminKey);
        var own = await ApiFixture.ReadAsync<JsonElement>(await client.GetAsync("api/v1/tenants?limit=1"));
        Assert.Equal([a.Id.ToString()], own.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        await AssertBadCursorAsync(a, "api/v1/tenants");
    }

    [Fact]
    public async Task A_machines_predictions_page_latest_first()
    {
        var (a, b) = await TenantsAsync();
        await a.Stores.Machines.UpsertMachineAsync(a.Id, "PAGED", null, null, CancellationToken.None);
        await b.Stores.Machines.UpsertMachineAsync(b.Id, "PAGED", null, null, CancellationToken.None);
        await a.Stores.Predictions.WritePredictionsAsync(a.Id, [.. Enumerable.Range(0, Rows).Select(i => Prediction(Recent.AddMinutes(i)))], CancellationToken.None);
        await b.Stores.Predictions.WritePredictionsAsync(b.Id, [Prediction(Recent.AddMinutes(30))], CancellationToken.None);
        var added = 0;

        var seen = await WalkAsync(a, "api/v1/machines/PAGED/predictions", "at",
            async () => await a.Stores.Predictions.WritePredictionsAsync(a.Id, [Prediction(Recent.AddMinutes(20 + added++))], CancellationToken.None));

        var expected = Enumerable.Range(0, Rows).Select(i => Recent.AddMinutes(i)).OrderDescending().ToList();
        Assert.Equal(expected, seen.Select(t => DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture)));
        await AssertBadCursorAsync(a, "api/v1/machines/PAGED/predictions");
    }

    [Fact]
    public async Task Readings_and_scores_page_within_the_range_of_the_first_page()
    {
        var (a, b) = await TenantsAsync();
        await WriteSamplesAsync(a, 0, Rows);
        await WriteSamplesAsync(b, 0, 2);
        var added = Rows;

        // Two sensors per time: the cursor holds the sensor too, so a page may end between them.
        var readings = await WalkAsync(a.AdminKey, "api/v1/machines/PAGED/readings", "readings",
            r => $"{r.GetProperty("timestamp").GetString()}/{r.GetProperty("sensor").GetString()}",
            async () => await WriteSamplesAsync(a, added++, 1));
        var expected = Enumerable.Range(0, Rows).SelectMany(i => new[] { "temperature", "vibration" }.Select(s => (Recent.AddSeconds(i), s)));
        Assert.Equal(expected, readings.Select(Parse).Where(r => r.At < Recent.AddSeconds(Rows)));
        Assert.Equal(readings.Distinct().Count(), readings.Count);

        var scores = await WalkAsync(a.AdminKey, "api/v1/machines/PAGED/scores", "scores", s => s.GetProperty("sequence").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            async () => await WriteSamplesAsync(a, added++, 1));
        var original = scores.Where(s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) < Rows).ToList();
        Assert.Equal(Enumerable.Range(0, Rows).Reverse().Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), original);
        Assert.Equal(scores.Distinct().Count(), scores.Count);
        await AssertBadCursorAsync(a, "api/v1/machines/PAGED/readings");
        await AssertBadCursorAsync(a, "api/v1/machines/PAGED/scores");
    }

    // ---- helpers ----

    private async Task<(OwnTenant A, OwnTenant B)> TenantsAsync() =>
        (await OwnTenant.CreateAsync(fixture, "paging-a"), await OwnTenant.CreateAsync(fixture, "paging-b"));

    private static string Id(string prefix, int i) => $"{prefix}-{i:D3}";

    private static string Iso(DateTimeOffset time) => Uri.EscapeDataString(time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));

    private static (DateTimeOffset At, string Sensor) Parse(string reading) =>
        (DateTimeOffset.Parse(reading.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture), reading.Split('/')[1]);

    private Task<List<string>> WalkAsync(OwnTenant tenant, string first, string keyProperty, Func<Task> between) =>
        WalkAsync(tenant.AdminKey, first, "items", e => e.GetProperty(keyProperty).ToString(), between);

    /// <summary>Follows nextLink from <paramref name="first"/> with a small limit, adding rows between pages.</summary>
    private async Task<List<string>> WalkAsync(string key, string first, string itemsProperty, Func<JsonElement, string> keyOf,
        Func<Task> between)
    {
        using var client = fixture.Factory.Client(key);
        var seen = new List<string>();
        string? next = first + (first.Contains('?', StringComparison.Ordinal) ? "&" : "?") + $"limit={Limit}";
        var pages = 0;
        while (next is not null)
        {
            using var response = await client.GetAsync(next.TrimStart('/'));
            var body = await ApiFixture.ReadAsync<JsonElement>(response);
            var items = body.GetProperty(itemsProperty).EnumerateArray().ToList();
            Assert.True(items.Count <= Limit, $"{items.Count} rows on a page of {Limit}");
            seen.AddRange(items.Select(keyOf));
            next = body.GetProperty("nextLink").GetString();
            Assert.Equal(next is not null, body.GetProperty("next").GetString() is not null);
            Assert.Equal(next is not null, response.Headers.Contains("Link"));
            Assert.True(++pages < 50, "the walk does not end");
            await between();
        }
        return seen;
    }

    /// <summary>Every expected row once, none twice; rows added during the walk (named <paramref name="latePrefix"/>) may show.</summary>
    private static void AssertOnceEach(List<string> expected, List<string> seen, string latePrefix)
    {
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Where(s => !s.StartsWith(latePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    private async Task AssertBadCursorAsync(OwnTenant tenant, string path)
    {
        using var client = fixture.Factory.Client(tenant.AdminKey);
        foreach (var cursor in new[] { "bm90LWEtY3Vyc29y", "%%%", new string('A', 400) })
        {
            using var response = await client.GetAsync($"{path}{(path.Contains('?', StringComparison.Ordinal) ? "&" : "?")}cursor={cursor}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("cursor", out _), path);
        }
    }

    private static RejectedMessage Reject(Guid tenant, string key, DateTimeOffset at) =>
        new(tenant, "gateway", at, key, [new DecodeError("$.machineId", "missing")], "{}", "test");

    private static PredictionRow Prediction(DateTimeOffset at) => new()
    {
        MachineId = "PAGED", At = at, Health = "HEALTHY", HealthProbabilities = JsonSerializer.SerializeToElement(new { }),
        Risk = "LOW", Explanation = JsonSerializer.SerializeToElement(new { }), Models = "",
    };

    /// <summary>Samples 1 s apart from <see cref="Recent"/>, two sensors each, and a stored score per sample.</summary>
    private static async Task WriteSamplesAsync(OwnTenant tenant, int first, int count)
    {
        List<MachineSample> samples = [.. Enumerable.Range(first, count).Select(i => new MachineSample
        {
            MachineId = "PAGED", Timestamp = Recent.AddSeconds(i), Sequence = i,
            Values = [new SensorValue("temperature", 40 + i), new SensorValue("vibration", 1 + (0.1 * i))],
        })];
        await tenant.Stores.Readings.WriteReadingsAsync([new TenantBatch(tenant.Id, "gateway", samples)],
            (_, _, _) => new ScoringWrite
            {
                Scores = [.. samples.Select(s => new AnomalyScoreRow
                {
                    MachineId = s.MachineId, Timestamp = s.Timestamp, Sequence = s.Sequence, Score = 0.5, Threshold = 1, IsAnomaly = false,
                    IsolationForest = 0, Statistical = 0, Temporal = 0, IsoZone = "A", Model = "baseline", TopSensors = [], TopContributions = [],
                })],
                States = [],
            }, CancellationToken.None);
    }
}
