using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pdm.AzureStorage;
using Pdm.Notifications.Tests.Delivery;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// PublishAlerts and DeliverWebhook as the Functions host invokes them (timer and queue-trigger payloads posted to the
/// handler), on the app's own registrations: outbox rows become signed webhooks at a Kestrel receiver, in order; a
/// message that cannot be read fails the invocation so the host retries and poisons it.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DeliverWebhookTests(ApiFixture fixture)
{
    [Fact]
    public async Task Outbox_rows_published_by_the_timer_arrive_signed_and_in_order_through_DeliverWebhook_invocations()
    {
        var queueName = $"wh-fn-{Guid.NewGuid():N}"[..24];
        var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["WEBHOOK_DELIVERY_QUEUE"] = queueName,
            ["Pdm__Webhooks__AllowHttp"] = "true",
            ["Pdm__Webhooks__AllowLoopback"] = "true",
        });
        await using var receiver = await TestReceiver.StartAsync();
        await using var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var protector = factory.Services.GetRequiredService<IWebhookSecretProtector>();
        var created = await stores.Subscriptions.CreateAsync(fixture.TenantA,
            new WebhookSubscriptionSettings { Url = receiver.Url("fn"), AllowLoopback = true }, [0], CancellationToken.None);
        var secret = WebhookSecret.Generate();
        await stores.Subscriptions.RotateSecretAsync(fixture.TenantA, created.Id, protector.Protect(secret, created.Id.ToString("D")),
            DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);
        var envelopes = Enumerable.Range(0, 3).Select(i => Envelope(fixture.TenantA, i)).ToList();
        await stores.Alerts.EvaluateAsync(fixture.TenantA, [], (_, _) => new AlertWrite
        {
            Outbox = [.. envelopes.Select(e => new OutboxMessage(Guid.NewGuid(), e.Body))],
        }, CancellationToken.None);
        using var host = factory.Client();

        using (var timer = await host.PostAsync("PublishAlerts", Json("""{"Data":{"tick":{"IsPastDue":false}},"Metadata":{}}""")))
        {
            Assert.True(timer.IsSuccessStatusCode, await timer.Content.ReadAsStringAsync());
        }
        var queue = factory.Services.GetRequiredService<StorageClients>().Queues.GetQueueClient(queueName);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (receiver.Accepted("fn").Count < 3 && DateTimeOffset.UtcNow < deadline)
        {
            foreach (var message in (await queue.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(30))).Value)
            {
                // The host hands a JSON message over as a JSON-encoded string in Data.<binding name>.
                var invocation = new JsonObject
                {
                    ["Data"] = new JsonObject { ["message"] = JsonSerializer.Serialize(message.Body.ToString()) },
                    ["Metadata"] = new JsonObject { ["DequeueCount"] = "1", ["Id"] = JsonSerializer.Serialize(message.MessageId) },
                };
                using var response = await host.PostAsync("DeliverWebhook", Json(invocation.ToJsonString()));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
            await Task.Delay(50);
        }

        var accepted = receiver.Accepted("fn");
        Assert.Equal(envelopes.Select(e => e.Id), accepted.Select(r => r.WebhookId));
        Assert.All(accepted, r => Assert.StartsWith("v1,", r.Headers["webhook-signature"], StringComparison.Ordinal));
        Assert.All(accepted, r => Assert.Equal(envelopes.Single(e => e.Id == r.WebhookId).Body, r.Body));
    }

    [Theory]
    [InlineData("""{"Data":{"message":"\"just a string\""},"Metadata":{}}""")]
    [InlineData("""{"Data":{"message":"{\"version\":1,\"eventId\":\"evt_1\"}"},"Metadata":{}}""")]
    [InlineData("""{"Data":{},"Metadata":{}}""")]
    public async Task A_message_that_cannot_be_read_fails_the_invocation_so_the_host_retries_and_poisons_it(string invocation)
    {
        using var host = fixture.Factory.Client();

        using var response = await host.PostAsync("DeliverWebhook", Json(invocation));

        Assert.False(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    /// <summary>An alert event envelope as the evaluation stores it (only what routing and delivery read is filled in).</summary>
    private static (string Id, string Body) Envelope(Guid tenant, int n)
    {
        var id = WebhookEvent.NewId(DateTimeOffset.UtcNow.AddMilliseconds(n));
        var body = new WebhookEvent
        {
            Id = id,
            Type = "alert.opened",
            Timestamp = DateTimeOffset.UtcNow,
            Tenant = tenant.ToString("D"),
            Data = JsonSerializer.SerializeToElement(new { alert = new { subject = "Machine", subjectId = "FN_PUMP", severity = "HIGH", n } }),
        }.Serialize();
        return (id, body);
    }
}
