using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.Alerts.Rules;

namespace Pdm.Functions.Tests;

/// <summary>
/// Alert rules and alerts through the API on a real database: rule sets with ETag/If-Match, alerts seeded as the
/// evaluation stores them, listed, paged, read and worked by an operator. Each test has a tenant of its own (tenants A
/// and B belong to the authorization matrix, which saves their rule sets without If-Match).
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AlertApiTests(ApiFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Rule_set_round_trips_with_its_revision_as_etag_and_a_stale_one_is_refused()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "rules");
        using var admin = fixture.Factory.Client(tenant.AdminKey);
        using var reader = fixture.Factory.Client(tenant.ReaderKey);

        using var initial = await reader.GetAsync("api/v1/alert-rules");
        Assert.Equal(HttpStatusCode.OK, initial.StatusCode);
        Assert.Equal("\"0\"", initial.Headers.ETag?.ToString());
        Assert.True(RuleSetJson.Parse(await initial.Content.ReadAsStringAsync()).IsValid);

        var edited = JsonNode.Parse(DefaultRules.Json)!;
        var silent = edited["rules"]!.AsArray().Single(r => (string?)r!["id"] == "silent")!;
        silent["severity"] = "HIGH";
        using var first = await PutRulesAsync(admin, edited, ifMatch: null);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("\"1\"", first.Headers.ETag?.ToString());

        using var read = await reader.GetAsync("api/v1/alert-rules");
        Assert.Equal("\"1\"", read.Headers.ETag?.ToString());
        var stored = RuleSetJson.Parse(await read.Content.ReadAsStringAsync()).RuleSet!;
        Assert.Equal(AlertSeverity.High, stored.Rules.Single(r => r.Id == "silent").Severity);

        // A rule set exists now: a replacement must say which revision it was made from.
        await ProblemAsync(await PutRulesAsync(admin, edited, ifMatch: null), HttpStatusCode.PreconditionRequired);
        using var stale = await PutRulesAsync(admin, edited, ifMatch: "\"0\"");
        var problem = await ProblemAsync(stale, HttpStatusCode.PreconditionFailed);
        Assert.Contains("revision 1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("\"1\"", stale.Headers.ETag?.ToString());

        silent["severity"] = "CRITICAL";
        using var second = await PutRulesAsync(admin, edited, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("\"2\"", second.Headers.ETag?.ToString());
        Assert.Equal(2L, await tenant.CountAsync(fixture, "SELECT count(*) FROM pdm.audit_log WHERE action = 'alert-rules.update'"));

        // Readers read; only a tenant admin changes rules.
        await ProblemAsync(await PutRulesAsync(reader, edited, ifMatch: "\"2\""), HttpStatusCode.Forbidden);
        using var defaults = await reader.GetAsync("api/v1/alert-rules/defaults");
        Assert.Equal(AlertSeverity.Medium, RuleSetJson.Parse(await defaults.Content.ReadAsStringAsync()).RuleSet!.Rules[0].Severity);
    }

    [Fact]
    public async Task An_invalid_rule_set_is_refused_naming_every_bad_path_and_nothing_is_saved()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "badrules");
        using var admin = fixture.Factory.Client(tenant.AdminKey);
        var body = JsonNode.Parse("""
            {"version":1,"rules":[
              {"id":"vib","kind":"anomaly_score","severity":"LOW","window":{"n":12,"m":10}},
              {"id":"temp","kind":"sensor_limits","severity":"URGENT"}]}
            """)!;

        var problem = await ProblemAsync(await PutRulesAsync(admin, body, ifMatch: null), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("rules[1].severity", out var severity), errors.ToString());
        Assert.Contains("LOW, MEDIUM, HIGH, CRITICAL", severity[0].GetString(), StringComparison.Ordinal);
        using var after = await admin.GetAsync("api/v1/alert-rules");
        Assert.Equal("\"0\"", after.Headers.ETag?.ToString());

        var window = await ProblemAsync(await PutRulesAsync(admin, JsonNode.Parse("""
            {"version":1,"rules":[{"id":"vib","kind":"anomaly_score","severity":"LOW","window":{"n":12,"m":10}}]}
            """)!, ifMatch: null), HttpStatusCode.BadRequest);
        Assert.True(window.GetProperty("errors").TryGetProperty("rules[0].window.n", out _), window.ToString());
        await ProblemAsync(await PutRulesAsync(admin, JsonNode.Parse("{}")!, ifMatch: "three"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Alerts_are_listed_filtered_and_paged_latest_first()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "alerts");
        var high = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "PUMP_1", "anomaly", AlertSeverity.High, T0);
        var low = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "PUMP_1", "stuck-sensor", AlertSeverity.Low, T0.AddMinutes(1));
        var critical = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "FAN_2", "vibration", AlertSeverity.Critical, T0.AddMinutes(2));
        var device = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "gw-7", "offline", AlertSeverity.Medium, T0.AddMinutes(3),
            RuleSubject.Device);
        using var reader = fixture.Factory.Client(tenant.ReaderKey);

        var page1 = await PageAsync(reader, "limit=2");
        Assert.Equal([device.Id, critical.Id], page1.Ids);
        var page2 = await PageAsync(reader, $"limit=2&cursor={page1.Next}");
        Assert.Equal([low.Id, high.Id], page2.Ids);
        Assert.Null(page2.Next);

        Assert.Equal([critical.Id, high.Id], (await PageAsync(reader, "severity=HIGH,critical")).Ids);
        Assert.Equal([low.Id, high.Id], (await PageAsync(reader, "machineId=PUMP_1")).Ids);
        Assert.Equal([device.Id], (await PageAsync(reader, "deviceId=gw-7")).Ids);
        Assert.Equal([critical.Id], (await PageAsync(reader, "ruleId=vibration")).Ids);
        Assert.Equal([critical.Id, low.Id], (await PageAsync(reader,
            $"from={Uri.EscapeDataString(T0.AddMinutes(1).ToString("O"))}&to={Uri.EscapeDataString(T0.AddMinutes(3).ToString("O"))}")).Ids);
        Assert.Empty((await PageAsync(reader, "status=resolved")).Ids);

        using var json = JsonDocument.Parse(await reader.GetStringAsync("api/v1/alerts?machineId=FAN_2"));
        var alert = json.RootElement.GetProperty("alerts")[0];
        Assert.Equal("CRITICAL", alert.GetProperty("severity").GetString());
        Assert.Equal("open", alert.GetProperty("status").GetString());
        Assert.Equal("Machine", alert.GetProperty("subject").GetString());
        Assert.Equal("8 of the last 10 samples were anomalous", alert.GetProperty("explanation").GetProperty("summary").GetString());

        Assert.Contains("status", (await ProblemAsync(await reader.GetAsync("api/v1/alerts?status=closed"), HttpStatusCode.BadRequest))
            .GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Contains("cursor", (await ProblemAsync(await reader.GetAsync("api/v1/alerts?cursor=bm90LWEtY3Vyc29y"), HttpStatusCode.BadRequest))
            .GetProperty("errors").EnumerateObject().Select(p => p.Name));
        await ProblemAsync(await reader.GetAsync("api/v1/alerts?machineId=PUMP_1&deviceId=gw-7"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_poller_gets_304_until_an_alert_changes()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "poll");
        var alert = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "PUMP_1", "anomaly", AlertSeverity.High, T0);
        using var reader = fixture.Factory.Client(tenant.ReaderKey);
        using var admin = fixture.Factory.Client(tenant.AdminKey);

        using var first = await reader.GetAsync("api/v1/alerts?status=open");
        var etag = first.Headers.ETag!;
        using var unchanged = await SendAsync(reader, HttpMethod.Get, "api/v1/alerts?status=open", ifNoneMatch: etag.Tag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);

        using var ack = await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/acknowledge", new { });
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        using var changed = await SendAsync(reader, HttpMethod.Get, "api/v1/alerts?status=open", ifNoneMatch: etag.Tag);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag.Tag, changed.Headers.ETag?.Tag);
    }

    [Fact]
    public async Task An_operator_acknowledges_comments_and_resolves_and_each_step_is_an_event()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "work");
        var alert = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "PUMP_1", "anomaly", AlertSeverity.High, T0);
        using var admin = fixture.Factory.Client(tenant.AdminKey);

        using var ack = await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/acknowledge", new { comment = "on my way" });
        var acknowledged = await ApiFixture.ReadAsync<JsonElement>(ack);
        Assert.Equal("acknowledged", acknowledged.GetProperty("status").GetString());
        Assert.Equal(tenant.AdminName, acknowledged.GetProperty("acknowledged").GetProperty("by").GetString());
        Assert.Equal("on my way", acknowledged.GetProperty("acknowledged").GetProperty("comment").GetString());

        using var comment = await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/comments", new { comment = "bearing runs hot,\nordered a spare" });
        Assert.Equal(HttpStatusCode.OK, comment.StatusCode);
        var noComment = await ProblemAsync(await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/comments", new { comment = "  " }), HttpStatusCode.BadRequest);
        Assert.True(noComment.GetProperty("errors").TryGetProperty("comment", out _));
        await ProblemAsync(await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/comments", new { comment = "hidden \u202Etext" }), HttpStatusCode.BadRequest);

        using var resolve = await admin.PostAsync($"api/v1/alerts/{alert.Id}/resolve", null);
        Assert.Equal("resolved", (await ApiFixture.ReadAsync<JsonElement>(resolve)).GetProperty("status").GetString());

        // The lifecycle refuses what no longer applies, and says why.
        var refused = await ProblemAsync(await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/acknowledge", new { }), HttpStatusCode.Conflict);
        Assert.Contains("resolved", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(await admin.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/resolve", new { }), HttpStatusCode.Conflict);

        using var detail = JsonDocument.Parse(await admin.GetStringAsync($"api/v1/alerts/{alert.Id}"));
        var events = detail.RootElement.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["alert.opened", "alert.acknowledged", "alert.commented", "alert.resolved"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(tenant.AdminName, events[2].GetProperty("by").GetString());
        Assert.Equal("bearing runs hot,\nordered a spare", events[2].GetProperty("comment").GetString());
        Assert.Equal("resolved", detail.RootElement.GetProperty("alert").GetProperty("status").GetString());
        // Acknowledged and resolved notify subscribers (the outbox, with the opened event seeded); a comment does not.
        Assert.Equal(3L, await tenant.CountAsync(fixture, "SELECT count(*) FROM pdm.alert_outbox"));

        await ProblemAsync(await admin.PostAsJsonAsync($"api/v1/alerts/{Guid.NewGuid()}/acknowledge", new { }), HttpStatusCode.NotFound);
        await ProblemAsync(await admin.GetAsync($"api/v1/alerts/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Another_tenant_neither_sees_nor_works_an_alert()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "owner");
        var alert = await AlertSeeds.OpenAsync(tenant.Stores, tenant.Id, "PUMP_1", "anomaly", AlertSeverity.High, T0);
        using var other = fixture.Factory.Client(fixture.Keys["other-tenant-admin"]);

        await ProblemAsync(await other.GetAsync($"api/v1/alerts/{alert.Id}"), HttpStatusCode.NotFound);
        foreach (var action in new[] { "acknowledge", "resolve", "comments" })
        {
            await ProblemAsync(await other.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/{action}", new { comment = "not mine" }), HttpStatusCode.NotFound);
        }
        Assert.DoesNotContain(alert.Id.ToString(), await other.GetStringAsync("api/v1/alerts?limit=1000"), StringComparison.Ordinal);
        using var admin = fixture.Factory.Client(tenant.AdminKey);
        using var detail = JsonDocument.Parse(await admin.GetStringAsync($"api/v1/alerts/{alert.Id}"));
        Assert.Equal("open", detail.RootElement.GetProperty("alert").GetProperty("status").GetString());
        Assert.Single(detail.RootElement.GetProperty("events").EnumerateArray());
    }

    private static async Task<HttpResponseMessage> PutRulesAsync(HttpClient client, JsonNode body, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/v1/alert-rules")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return await client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string ifNoneMatch)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return await client.SendAsync(request);
    }

    private static async Task<(List<Guid> Ids, string? Next)> PageAsync(HttpClient client, string query)
    {
        using var response = await client.GetAsync($"api/v1/alerts?{query}");
        var page = await ApiFixture.ReadAsync<JsonElement>(response);
        return ([.. page.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetGuid())],
            page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString());
    }

    internal static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var json = JsonDocument.Parse(body);
            return json.RootElement.Clone();
        }
    }
}
