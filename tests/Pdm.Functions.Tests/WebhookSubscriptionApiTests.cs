using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// Webhook subscriptions through the API on a real database: the secret is shown once and stored encrypted, rotation
/// keeps the previous secret signing for the grace period, URLs that lead to internal addresses are refused naming
/// <c>url</c>, and another tenant reaches none of it.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class WebhookSubscriptionApiTests(ApiFixture fixture)
{
    [Fact]
    public async Task Subscriptions_are_created_read_replaced_and_deleted_and_the_secret_is_shown_only_once()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "hooks");
        using var admin = fixture.Factory.Client(tenant.AdminKey);
        using var reader = fixture.Factory.Client(tenant.ReaderKey);

        using var create = await admin.PostAsJsonAsync("api/v1/webhooks", new
        {
            url = "https://ops.public.test/hooks/pdm",
            description = "On-call pager",
            filters = new { severities = new[] { "high", "CRITICAL", "HIGH" }, eventTypes = new[] { "alert.opened" }, machines = new[] { "PUMP_1" } },
        });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var created = await ApiFixture.ReadAsync<JsonElement>(create);
        var id = created.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/webhooks/{id}", create.Headers.Location?.ToString());
        var secret = created.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(WebhookSecret.GeneratedBytes, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        Assert.Equal(["HIGH", "CRITICAL"], created.GetProperty("filters").GetProperty("severities").EnumerateArray().Select(s => s.GetString()));

        // Stored encrypted, bound to the subscription: the row holds no clear secret, and it decrypts to the one shown.
        var row = (await tenant.Stores.Subscriptions.GetAsync(tenant.Id, id, CancellationToken.None))!;
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        Assert.False(row.Secret.AsSpan().IndexOf(key) >= 0);
        var protector = fixture.Factory.Services.GetRequiredService<IWebhookSecretProtector>();
        Assert.Equal(secret, protector.Unprotect(row.Secret, id.ToString("D")).Encoded);

        var one = await reader.GetStringAsync($"api/v1/webhooks/{id}");
        var list = await reader.GetStringAsync("api/v1/webhooks");
        foreach (var read in new[] { one, list })
        {
            Assert.DoesNotContain(secret["whsec_".Length..], read, StringComparison.Ordinal);
            Assert.DoesNotContain("\"secret\"", read, StringComparison.Ordinal);
        }
        using (var json = JsonDocument.Parse(one))
        {
            Assert.Equal("On-call pager", json.RootElement.GetProperty("description").GetString());
            Assert.Equal("https://ops.public.test/hooks/pdm", json.RootElement.GetProperty("url").GetString());
        }

        using var replace = await admin.PutAsJsonAsync($"api/v1/webhooks/{id}", new
        {
            url = "https://ops.public.test/hooks/v2",
            enabled = false,
            filters = new { machineKinds = new[] { "CentrifugalPump" } },
        });
        var replaced = await ApiFixture.ReadAsync<JsonElement>(replace);
        Assert.Equal("https://ops.public.test/hooks/v2", replaced.GetProperty("url").GetString());
        Assert.False(replaced.GetProperty("enabled").GetBoolean());
        Assert.Empty(replaced.GetProperty("filters").GetProperty("severities").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, replaced.GetProperty("description").ValueKind);
        Assert.False(replaced.TryGetProperty("secret", out _));
        await AlertApiTests.ProblemAsync(await reader.PutAsJsonAsync($"api/v1/webhooks/{id}", new { url = "https://ops.public.test/x" }),
            HttpStatusCode.Forbidden);

        using var delete = await admin.DeleteAsync($"api/v1/webhooks/{id}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await AlertApiTests.ProblemAsync(await reader.GetAsync($"api/v1/webhooks/{id}"), HttpStatusCode.NotFound);
        await AlertApiTests.ProblemAsync(await admin.DeleteAsync($"api/v1/webhooks/{id}"), HttpStatusCode.NotFound);
        Assert.Equal(3L, await tenant.CountAsync(fixture,
            "SELECT count(*) FROM pdm.audit_log WHERE target = $1 AND action IN ('webhook.create', 'webhook.update', 'webhook.delete')",
            $"webhook/{id}"));
    }

    [Fact]
    public async Task After_a_rotation_both_secrets_verify_deliveries_during_the_grace_period()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "rotate");
        using var admin = fixture.Factory.Client(tenant.AdminKey);
        var created = await ApiFixture.ReadAsync<JsonElement>(await admin.PostAsJsonAsync("api/v1/webhooks", new { url = "https://ops.public.test/hook" }));
        var id = created.GetProperty("id").GetGuid();
        var oldSecret = created.GetProperty("secret").GetString()!;

        var before = DateTimeOffset.UtcNow;
        var rotated = await ApiFixture.ReadAsync<JsonElement>(await admin.PostAsync($"api/v1/webhooks/{id}/rotate-secret", null));
        var newSecret = rotated.GetProperty("secret").GetString()!;
        var validUntil = rotated.GetProperty("previousSecretValidUntil").GetDateTimeOffset();
        Assert.NotEqual(oldSecret, newSecret);
        Assert.InRange(validUntil, before.AddHours(24).AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(24).AddMinutes(1));

        // What delivery signs with: the stored secrets, decrypted, as a secret set.
        var row = (await tenant.Stores.Subscriptions.GetAsync(tenant.Id, id, CancellationToken.None))!;
        var protector = fixture.Factory.Services.GetRequiredService<IWebhookSecretProtector>();
        var secrets = new WebhookSecretSet(protector.Unprotect(row.Secret, id.ToString("D")),
            protector.Unprotect(row.PreviousSecret!, id.ToString("D")), row.PreviousSecretValidUntil);
        Assert.Equal([newSecret, oldSecret], secrets.ValidAt(DateTimeOffset.UtcNow).Select(s => s.Encoded));
        var now = DateTimeOffset.UtcNow;
        const string body = """{"type":"alert.opened","data":{}}""";
        var headers = WebhookSigner.Sign("evt_rotation", now, body, secrets.ValidAt(now));
        // Verified the way the specification defines it (HMAC-SHA256 of "id.timestamp.body"), not with our signer.
        var signatures = headers.Signature.Split(' ');
        foreach (var secret in new[] { oldSecret, newSecret })
        {
            using var hmac = new HMACSHA256(Convert.FromBase64String(secret["whsec_".Length..]));
            var expected = "v1," + Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes($"{headers.Id}.{headers.Timestamp}.{body}")));
            Assert.Contains(expected, signatures);
        }
        Assert.Equal([newSecret], secrets.ValidAt(validUntil.AddSeconds(1)).Select(s => s.Encoded));

        var read = await admin.GetStringAsync($"api/v1/webhooks/{id}");
        Assert.DoesNotContain(newSecret["whsec_".Length..], read, StringComparison.Ordinal);
        Assert.DoesNotContain(oldSecret["whsec_".Length..], read, StringComparison.Ordinal);
        Assert.Equal(1L, await tenant.CountAsync(fixture,
            "SELECT count(*) FROM pdm.audit_log WHERE target = $1 AND action = 'webhook.rotate-secret'", $"webhook/{id}"));
        await AlertApiTests.ProblemAsync(await admin.PostAsync($"api/v1/webhooks/{Guid.NewGuid()}/rotate-secret", null), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook", "must use https")]
    [InlineData("https://127.0.0.1/hook", "loopback")]
    [InlineData("https://10.1.2.3/hook", "private")]
    [InlineData("https://169.254.169.254/latest/meta-data", "link-local")]
    [InlineData("https://[::1]/hook", "loopback")]
    [InlineData("https://db.private.test/hook", "'db.private.test' resolves to 10.20.30.40")]
    [InlineData("https://imds.metadata.test/hook", "resolves to 169.254.169.254")]
    [InlineData("https://user:secret@ops.public.test/hook", "user name or password")]
    [InlineData("ftp://ops.public.test/hook", "absolute https URL")]
    public async Task A_url_that_leads_inside_is_refused_naming_url(string url, string reason)
    {
        using var admin = fixture.Factory.Client(fixture.Keys["admin"]);
        var created = await AlertApiTests.ProblemAsync(await admin.PostAsJsonAsync("api/v1/webhooks", new { url }), HttpStatusCode.BadRequest);
        Assert.Contains(reason, created.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);

        var existing = await SubscriptionSeeds.CreateAsync(fixture.Factory, fixture.TenantA);
        var replaced = await AlertApiTests.ProblemAsync(await admin.PutAsJsonAsync($"api/v1/webhooks/{existing.Id}", new { url }), HttpStatusCode.BadRequest);
        Assert.Contains(reason, replaced.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loopback_needs_both_the_subscription_flag_and_the_development_setting_and_never_opens_private_addresses()
    {
        using var admin = fixture.Factory.Client(fixture.Keys["admin"]);
        var refused = await AlertApiTests.ProblemAsync(await admin.PostAsJsonAsync("api/v1/webhooks",
            new { url = "https://127.0.0.1:5001/hook", allowLoopback = true }), HttpStatusCode.BadRequest);
        Assert.Contains("Pdm__Webhooks__AllowLoopback", refused.GetProperty("errors").GetProperty("allowLoopback")[0].GetString(), StringComparison.Ordinal);

        var development = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__Webhooks__AllowLoopback"] = "true",
            ["Pdm__Webhooks__AllowHttp"] = "true",
        });
        using var devAdmin = development.Client(fixture.Keys["admin"]);
        using var loopback = await devAdmin.PostAsJsonAsync("api/v1/webhooks", new { url = "http://127.0.0.1:5001/hook", allowLoopback = true });
        Assert.True((await ApiFixture.ReadAsync<JsonElement>(loopback)).GetProperty("allowLoopback").GetBoolean());
        var withoutFlag = await AlertApiTests.ProblemAsync(await devAdmin.PostAsJsonAsync("api/v1/webhooks", new { url = "http://127.0.0.1:5001/hook" }),
            HttpStatusCode.BadRequest);
        Assert.Contains("loopback", withoutFlag.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
        foreach (var url in new[] { "https://10.1.2.3/hook", "https://169.254.169.254/", "https://db.private.test/hook" })
        {
            await AlertApiTests.ProblemAsync(await devAdmin.PostAsJsonAsync("api/v1/webhooks", new { url, allowLoopback = true }), HttpStatusCode.BadRequest);
        }
    }

    [Theory]
    [InlineData("""{"url":"https://ops.public.test/h","filters":{"severities":["URGENT"]}}""", "filters.severities[0]")]
    [InlineData("""{"url":"https://ops.public.test/h","filters":{"eventTypes":["alert.opened","alert.updated"]}}""", "filters.eventTypes[1]")]
    [InlineData("""{"url":"https://ops.public.test/h","filters":{"machines":["PUMP 1"]}}""", "filters.machines[0]")]
    [InlineData("""{"url":"https://ops.public.test/h","description":"line\nbreak"}""", "description")]
    [InlineData("""{"description":"no url"}""", "url")]
    public async Task A_bad_field_is_refused_by_name(string body, string field)
    {
        using var admin = fixture.Factory.Client(fixture.Keys["admin"]);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var problem = await AlertApiTests.ProblemAsync(await admin.PostAsync("api/v1/webhooks", content), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Another_tenant_reaches_no_subscription_of_this_one()
    {
        var tenant = await OwnTenant.CreateAsync(fixture, "isolated");
        var row = await SubscriptionSeeds.CreateAsync(fixture.Factory, tenant.Id, "https://mine.public.test/hook");
        using var other = fixture.Factory.Client(fixture.Keys["other-tenant-admin"]);

        await AlertApiTests.ProblemAsync(await other.GetAsync($"api/v1/webhooks/{row.Id}"), HttpStatusCode.NotFound);
        await AlertApiTests.ProblemAsync(await other.PutAsJsonAsync($"api/v1/webhooks/{row.Id}", new { url = "https://evil.public.test/x" }),
            HttpStatusCode.NotFound);
        await AlertApiTests.ProblemAsync(await other.PostAsync($"api/v1/webhooks/{row.Id}/rotate-secret", null), HttpStatusCode.NotFound);
        await AlertApiTests.ProblemAsync(await other.DeleteAsync($"api/v1/webhooks/{row.Id}"), HttpStatusCode.NotFound);
        Assert.DoesNotContain(row.Id.ToString(), await other.GetStringAsync("api/v1/webhooks"), StringComparison.Ordinal);

        var after = (await tenant.Stores.Subscriptions.GetAsync(tenant.Id, row.Id, CancellationToken.None))!;
        Assert.Equal("https://mine.public.test/hook", after.Url);
        Assert.Equal(row.Secret, after.Secret);
        Assert.Null(after.PreviousSecret);
    }
}
