using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pdm.AzureStorage;
using Pdm.Notifications.Attempts;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// The delivery routes on the real app: the attempt log (Table storage on Azurite) paged per subscription, dead letters
/// and their replay (the delivery pending again, a work message on the queue), each tenant seeing only its own.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DeliveryApiTests(ApiFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    [Fact]
    public async Task A_subscriptions_attempts_come_newest_first_in_pages_and_another_tenant_cannot_read_them()
    {
        await using var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var subscription = await SubscribeAsync(stores);
        var log = fixture.Factory.Services.GetRequiredService<DeliveryAttemptLog>();
        await log.CreateTableIfNotExistsAsync(CancellationToken.None);
        foreach (var (eventId, minute, status) in new[] { ("evt_a", 0, 503), ("evt_a", 1, 200), ("evt_b", 2, 200) })
        {
            var outcome = status == 200 ? WebhookAttemptOutcome.Delivered : WebhookAttemptOutcome.Failed;
            await log.AppendAsync(new DeliveryAttempt(fixture.TenantA.ToString("D"), subscription.ToString("D"), eventId, minute == 1 ? 2 : 1,
                DeliveryChannel.Webhook, new WebhookAttemptResult(outcome, T0.AddMinutes(minute), TimeSpan.FromMilliseconds(12), status)), CancellationToken.None);
        }
        using var reader = fixture.Factory.Client(fixture.Keys["viewer"]);

        var first = await ApiFixture.ReadAsync<JsonElement>(await reader.GetAsync($"api/v1/webhooks/{subscription}/deliveries?limit=2"));
        var token = first.GetProperty("continuationToken").GetString()!;
        var second = await ApiFixture.ReadAsync<JsonElement>(await reader.GetAsync(
            $"api/v1/webhooks/{subscription}/deliveries?limit=2&continuationToken={Uri.EscapeDataString(token)}"));

        Assert.Equal(["evt_b", "evt_a"], first.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("eventId").GetString()));
        Assert.Equal((503, "failed", 1), second.GetProperty("attempts").EnumerateArray().Select(a =>
            (a.GetProperty("statusCode").GetInt32(), a.GetProperty("outcome").GetString(), a.GetProperty("attempt").GetInt32())).Single());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("continuationToken").ValueKind);
        Assert.True(first.GetProperty("enabled").GetBoolean());

        using var bad = await reader.GetAsync($"api/v1/webhooks/{subscription}/deliveries?continuationToken=not-ours");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("continuationToken", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The same pages through the cursor every list uses: nextLink, then no next.
        var viaLink = await ApiFixture.ReadAsync<JsonElement>(await reader.GetAsync(first.GetProperty("nextLink").GetString()!.TrimStart('/')));
        Assert.Equal(second.GetProperty("attempts").GetRawText(), viaLink.GetProperty("attempts").GetRawText());
        Assert.Equal(JsonValueKind.Null, viaLink.GetProperty("next").ValueKind);
        using var badCursor = await reader.GetAsync($"api/v1/webhooks/{subscription}/deliveries?cursor=bm90LWEtY3Vyc29y");
        Assert.Equal(HttpStatusCode.BadRequest, badCursor.StatusCode);
        Assert.Contains("cursor", await badCursor.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var other = fixture.Factory.Client(fixture.Keys["other-tenant-admin"]);
        using var hidden = await other.GetAsync($"api/v1/webhooks/{subscription}/deliveries");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.DoesNotContain("evt_", await hidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letters_replay_one_by_one_and_in_bulk_for_their_tenants_admin_only()
    {
        await using var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var subscription = await SubscribeAsync(stores);
        var events = new[] { NewEventId(), NewEventId(), NewEventId() };
        var deadLetters = new List<WebhookDeadLetter>();
        foreach (var eventId in events)
        {
            deadLetters.Add(await stores.Subscriptions.AddDeadLetterAsync(fixture.TenantA, subscription, eventId,
                $$"""{"id":"{{eventId}}","type":"alert.opened","tenant":"{{fixture.TenantA:D}}"}""", 12, "HTTP 503 Service Unavailable", CancellationToken.None));
        }
        using var admin = fixture.Factory.Client(fixture.Keys["admin"]);
        using var reader = fixture.Factory.Client(fixture.Keys["viewer"]);
        using var other = fixture.Factory.Client(fixture.Keys["other-tenant-admin"]);

        var listed = await ApiFixture.ReadAsync<JsonElement>(await reader.GetAsync($"api/v1/webhooks/dead-letters?subscriptionId={subscription}&pendingOnly=true"));
        listed = listed.GetProperty("items");
        Assert.Equal(events.Order(StringComparer.Ordinal), listed.EnumerateArray().Select(d => d.GetProperty("eventId").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal("alert.opened", listed[0].GetProperty("payload").GetProperty("type").GetString());
        using (var badFilter = await reader.GetAsync("api/v1/webhooks/dead-letters?subscriptionId=nope"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
            Assert.Contains("subscriptionId", await badFilter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Tenant B sees none of them and can replay none of them, one by one or in bulk.
        var othersList = await ApiFixture.ReadAsync<JsonElement>(await other.GetAsync("api/v1/webhooks/dead-letters"));
        Assert.DoesNotContain(othersList.GetProperty("items").EnumerateArray(), d => events.Contains(d.GetProperty("eventId").GetString()));
        using (var stolen = await other.PostAsync($"api/v1/webhooks/dead-letters/{deadLetters[0].Id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        }
        var othersBulk = await ApiFixture.ReadAsync<JsonElement>(await other.PostAsJsonAsync("api/v1/webhooks/dead-letters/replay", new { subscriptionId = subscription }));
        Assert.Equal(0, othersBulk.GetProperty("replayed").GetInt32());
        using (var readerReplay = await reader.PostAsync($"api/v1/webhooks/dead-letters/{deadLetters[0].Id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, readerReplay.StatusCode);
        }
        Assert.All(await stores.Subscriptions.ListDeadLettersAsync(fixture.TenantA, subscription, false, 10, CancellationToken.None), d => Assert.Null(d.ReplayedAt));

        // Tenant A's admin: one, then the rest in bulk; each delivery is pending again and its subscription kicked.
        var one = await ApiFixture.ReadAsync<JsonElement>(await admin.PostAsync($"api/v1/webhooks/dead-letters/{deadLetters[1].Id}/replay", null));
        Assert.Equal(1, one.GetProperty("replayed").GetInt32());
        using (var again = await admin.PostAsync($"api/v1/webhooks/dead-letters/{deadLetters[1].Id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        var bulk = await ApiFixture.ReadAsync<JsonElement>(await admin.PostAsJsonAsync("api/v1/webhooks/dead-letters/replay", new { subscriptionId = subscription }));
        Assert.Equal(2, bulk.GetProperty("replayed").GetInt32());

        var deliveries = await stores.Deliveries.ListAsync(fixture.TenantA, subscription, CancellationToken.None);
        Assert.Equal(events.Order(StringComparer.Ordinal), deliveries.Select(d => d.EventId).Order(StringComparer.Ordinal));
        Assert.All(deliveries, d => Assert.Equal(("pending", 0), (d.State, d.Attempts)));
        Assert.Empty(await stores.Subscriptions.ListDeadLettersAsync(fixture.TenantA, subscription, true, 10, CancellationToken.None));
        var queue = fixture.Factory.Services.GetRequiredService<StorageClients>().Queues.GetQueueClient("webhook-deliveries");
        var messages = (await queue.PeekMessagesAsync(32)).Value.Select(m => WebhookDeliveryMessage.Parse(m.Body.ToString()));
        Assert.Contains(messages, m => m.SubscriptionId == subscription.ToString("D") && m.Tenant == fixture.TenantA.ToString("D"));
    }

    private async Task<Guid> SubscribeAsync(PdmStores stores) =>
        (await stores.Subscriptions.CreateAsync(fixture.TenantA,
            new WebhookSubscriptionSettings { Url = $"https://{Guid.NewGuid():N}.example/hook" }, [1, 2, 3], CancellationToken.None)).Id;

    private static string NewEventId() => WebhookEvent.NewId(DateTimeOffset.UtcNow);
}
