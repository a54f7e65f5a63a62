using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pdm.Storage;

namespace Pdm.Functions.Tests;

/// <summary>
/// Machines as an integrator describes them (PATCH with If-Match, audited), the kinds in use, the audit log with its
/// filters and cursor, and the key's last-used time: against the real app and database.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class MachineApiTests(ApiFixture fixture)
{
    [Fact]
    public async Task An_admin_describes_a_machine_with_if_match_and_the_change_is_audited()
    {
        await using var app = PdmStores.Create(fixture.Database.AppConnectionString);
        var tenant = (await app.Tenants.CreateTenantAsync(AuthorizationTable.Unique("machines"), CancellationToken.None)).Id;
        var (_, adminKey) = await app.ApiKeys.CreateApiKeyAsync(tenant, "plant admin", ApiKeyRole.Admin, CancellationToken.None);
        var (_, viewerKey) = await app.ApiKeys.CreateApiKeyAsync(tenant, "wall screen", ApiKeyRole.Viewer, CancellationToken.None);
        await app.Machines.UpsertMachineAsync(tenant, "PUMP_7", null, null, CancellationToken.None);
        using var admin = fixture.Factory.Client(adminKey);

        using var first = await admin.GetAsync("api/v1/machines/PUMP_7");
        var etag = first.Headers.ETag!.Tag;
        using var notModified = await Send(admin, HttpMethod.Get, "api/v1/machines/PUMP_7", null, ifNoneMatch: etag);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var changed = await Send(admin, HttpMethod.Patch, "api/v1/machines/PUMP_7",
            new { name = "Cooling pump 7", kind = "centrifugal-pump", location = "Hall 2", criticality = "high" }, ifMatch: etag);
        var machine = await ApiFixture.ReadAsync<JsonElement>(changed);
        Assert.Equal("Cooling pump 7", machine.GetProperty("name").GetString());
        Assert.Equal("HIGH", machine.GetProperty("criticality").GetString());
        Assert.NotEqual(etag, changed.Headers.ETag!.Tag);

        // The old tag no longer matches: a second writer with a stale read gets 412 and the machine stays.
        using var stale = await Send(admin, HttpMethod.Patch, "api/v1/machines/PUMP_7", new { location = "Hall 9" }, ifMatch: etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        using var cleared = await Send(admin, HttpMethod.Patch, "api/v1/machines/PUMP_7", new { location = (string?)null }, ifMatch: null);
        Assert.Equal(JsonValueKind.Null, (await ApiFixture.ReadAsync<JsonElement>(cleared)).GetProperty("location").ValueKind);

        using var badField = await Send(admin, HttpMethod.Patch, "api/v1/machines/PUMP_7", new { criticality = "URGENT" }, ifMatch: null);
        Assert.Equal(HttpStatusCode.BadRequest, badField.StatusCode);
        Assert.Contains("criticality", await badField.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var viewer = fixture.Factory.Client(viewerKey);
        using var refused = await Send(viewer, HttpMethod.Patch, "api/v1/machines/PUMP_7", new { name = "x" }, ifMatch: null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        var kinds = await ApiFixture.ReadAsync<JsonElement>(await viewer.GetAsync("api/v1/machine-kinds"));
        Assert.Contains(kinds.EnumerateArray(), k => k.GetProperty("kind").GetString() == "centrifugal-pump" && k.GetProperty("machines").GetInt32() == 1);

        var log = await ApiFixture.ReadAsync<JsonElement>(await admin.GetAsync("api/v1/audit-log?action=machine.update"));
        var entries = log.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal("PUMP_7", e.GetProperty("target").GetString()));
        Assert.Equal(JsonValueKind.Null, entries[0].GetProperty("details").GetProperty("location").ValueKind);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("api/v1/audit-log")).StatusCode);
    }

    [Fact]
    public async Task An_admin_sets_iso_classes_of_kinds_and_machines_and_bad_classes_are_named()
    {
        await using var app = PdmStores.Create(fixture.Database.AppConnectionString);
        var tenant = (await app.Tenants.CreateTenantAsync(AuthorizationTable.Unique("isoclass"), CancellationToken.None)).Id;
        var (_, adminKey) = await app.ApiKeys.CreateApiKeyAsync(tenant, "plant admin", ApiKeyRole.Admin, CancellationToken.None);
        var (_, viewerKey) = await app.ApiKeys.CreateApiKeyAsync(tenant, "wall screen", ApiKeyRole.Viewer, CancellationToken.None);
        await app.Machines.UpsertMachineAsync(tenant, "MILL_1", null, "cnc-mill", CancellationToken.None);
        using var admin = fixture.Factory.Client(adminKey);
        using var viewer = fixture.Factory.Client(viewerKey);

        var kinds = await ApiFixture.ReadAsync<JsonElement>(await viewer.GetAsync("api/v1/machine-kinds"));
        var mill = kinds.EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "cnc-mill");
        Assert.Equal(("group1-rigid", "built-in"), (mill.GetProperty("isoClass").GetString(), mill.GetProperty("isoClassSource").GetString()));

        var set = await ApiFixture.ReadAsync<JsonElement>(await Send(admin, HttpMethod.Put, "api/v1/machine-kinds/roof-fan", new { isoClass = "class3" }));
        Assert.Equal(("class3", "tenant", 0), (set.GetProperty("isoClass").GetString(), set.GetProperty("isoClassSource").GetString(), set.GetProperty("machines").GetInt32()));
        var reset = await ApiFixture.ReadAsync<JsonElement>(await Send(admin, HttpMethod.Put, "api/v1/machine-kinds/cnc-mill", new { isoClass = (string?)null }));
        Assert.Equal(("group1-rigid", "built-in"), (reset.GetProperty("isoClass").GetString(), reset.GetProperty("isoClassSource").GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(viewer, HttpMethod.Put, "api/v1/machine-kinds/roof-fan", new { isoClass = "class1" })).StatusCode);

        var machine = await ApiFixture.ReadAsync<JsonElement>(await Send(admin, HttpMethod.Patch, "api/v1/machines/MILL_1", new { isoClass = "group1-flexible" }));
        Assert.Equal("group1-flexible", machine.GetProperty("isoClass").GetString());
        Assert.Equal("group1-flexible", (await app.Machines.GetMachineAsync(tenant, "MILL_1", CancellationToken.None))!.IsoClass);
        var cleared = await ApiFixture.ReadAsync<JsonElement>(await Send(admin, HttpMethod.Patch, "api/v1/machines/MILL_1", new { isoClass = (string?)null }));
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("isoClass").ValueKind);

        foreach (var (method, path, body) in new (HttpMethod, string, object)[]
        {
            (HttpMethod.Patch, "api/v1/machines/MILL_1", new { isoClass = "group3" }),
            (HttpMethod.Patch, "api/v1/machines/MILL_1", new { isoClass = 2 }),
            (HttpMethod.Put, "api/v1/machine-kinds/roof-fan", new { isoClass = "Class1" }),
            (HttpMethod.Put, "api/v1/machine-kinds/roof-fan", new { }),
        })
        {
            using var refused = await Send(admin, method, path, body);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("isoClass", out _), $"{method} {path} {JsonSerializer.Serialize(body)}");
        }
        using var other = await Send(admin, HttpMethod.Put, "api/v1/machine-kinds/roof-fan", new { isoClass = "class1", colour = "red" });
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("colour", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var log = await ApiFixture.ReadAsync<JsonElement>(await admin.GetAsync("api/v1/audit-log?action=machine-kind.update"));
        Assert.Equal(2, log.GetProperty("items").GetArrayLength());

        // Another tenant's kind of the same name keeps its own class.
        var otherTenant = (await app.Tenants.CreateTenantAsync(AuthorizationTable.Unique("isoclass-b"), CancellationToken.None)).Id;
        await app.Machines.SetKindIsoClassAsync(otherTenant, "roof-fan", "class1", CancellationToken.None);
        var ours = (await app.Machines.ListKindsAsync(tenant, CancellationToken.None)).Single(k => k.Kind == "roof-fan");
        Assert.Equal("class3", ours.IsoClass);
    }

    [Fact]
    public async Task Lists_page_with_an_opaque_cursor_and_a_next_link_that_keeps_the_filters()
    {
        await using var app = PdmStores.Create(fixture.Database.AppConnectionString);
        var tenant = (await app.Tenants.CreateTenantAsync(AuthorizationTable.Unique("paging"), CancellationToken.None)).Id;
        var (_, adminKey) = await app.ApiKeys.CreateApiKeyAsync(tenant, "pager", ApiKeyRole.Admin, CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            await app.Machines.UpsertMachineAsync(tenant, $"M{i}", null, null, CancellationToken.None);
            await app.Tenants.WriteAuditAsync(tenant, "someone", "test.paging", $"t{i}", null, CancellationToken.None);
        }
        await app.Tenants.WriteAuditAsync(tenant, "someone", "test.other", "other", null, CancellationToken.None);
        using var client = fixture.Factory.Client(adminKey);

        var seen = new List<string>();
        string? next = "api/v1/machines?limit=2";
        while (next is not null)
        {
            using var response = await client.GetAsync(next.TrimStart('/'));
            var page = await ApiFixture.ReadAsync<JsonElement>(response);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("machineId").GetString()!));
            next = page.GetProperty("nextLink").GetString();
            Assert.Equal(next is not null, response.Headers.Contains("Link"));
        }
        Assert.Equal(["M0", "M1", "M2", "M3", "M4"], seen);

        var targets = new List<string>();
        next = "api/v1/audit-log?action=test.paging&limit=2";
        while (next is not null)
        {
            var page = await ApiFixture.ReadAsync<JsonElement>(await client.GetAsync(next.TrimStart('/')));
            targets.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("target").GetString()!));
            next = page.GetProperty("nextLink").GetString();
            Assert.True(next is null || next.Contains("action=test.paging", StringComparison.Ordinal), next);
        }
        Assert.Equal(["t4", "t3", "t2", "t1", "t0"], targets);

        using var tampered = await client.GetAsync("api/v1/audit-log?cursor=bm90LWEtY3Vyc29y");
        Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);
        Assert.Contains("cursor", await tampered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_shows_when_it_was_last_used_and_the_old_roles_are_gone()
    {
        await using var app = PdmStores.Create(fixture.Database.AppConnectionString);
        var tenant = (await app.Tenants.CreateTenantAsync(AuthorizationTable.Unique("lastused"), CancellationToken.None)).Id;
        var (key, plaintext) = await app.ApiKeys.CreateApiKeyAsync(tenant, "wall screen", ApiKeyRole.Viewer, CancellationToken.None);
        Assert.Null((await app.ApiKeys.ListApiKeysAsync(tenant, CancellationToken.None)).Single().LastUsedAt);
        using var client = fixture.Factory.Client(plaintext);
        Assert.True((await client.GetAsync("api/v1/machines")).IsSuccessStatusCode);
        var listed = (await app.ApiKeys.ListApiKeysAsync(tenant, CancellationToken.None)).Single(k => k.Id == key.Id);
        Assert.NotNull(listed.LastUsedAt);
        Assert.True(listed.LastUsedAt <= DateTimeOffset.UtcNow && listed.LastUsedAt > DateTimeOffset.UtcNow.AddMinutes(-2));

        using var admin = fixture.Factory.Client(fixture.PlatformAdminKey);
        using var oldRole = await admin.PostAsJsonAsync($"api/v1/tenants/{tenant}/api-keys", new { name = "old", role = "tenant-reader" });
        Assert.Equal(HttpStatusCode.BadRequest, oldRole.StatusCode);
        Assert.Contains("viewer, operator, admin", await oldRole.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, object? body,
        string? ifMatch = null, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }
        return await client.SendAsync(request);
    }
}
