using System.Text.Json;
using Pdm.LocalStack;
using Pdm.Notifications.Tests.Delivery;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// The whole delivery path on the dev host: alert events committed to the outbox by a process that then died before
/// publishing them are published by the PublishAlerts timer, and the DeliverWebhook queue trigger (Azurite, as the
/// host runs it) delivers each once, in order, signed, to a receiver on this machine.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DeliveryPipelineTests(PipelineFixture pipeline)
{
    [Fact]
    public async Task Events_committed_without_a_publish_are_delivered_by_the_timer_and_the_queue_trigger_once_each_in_order()
    {
        var tenant = await pipeline.CreateTenantAsync("deliver");
        await using var receiver = await TestReceiver.StartAsync();
        await using var stores = PdmStores.Create(pipeline.Database.AppConnectionString);
        var protector = new AesGcmWebhookSecretProtector(new WebhookSecretKeyOptions { WebhookSecretKey = LocalEnvironment.LocalWebhookSecretKey(pipeline.Database.Name) });
        var created = await stores.Subscriptions.CreateAsync(tenant.Id,
            new WebhookSubscriptionSettings { Url = receiver.Url("pipeline"), AllowLoopback = true }, [0], CancellationToken.None);
        var secret = WebhookSecret.Generate();
        await stores.Subscriptions.RotateSecretAsync(tenant.Id, created.Id, protector.Protect(secret, created.Id.ToString("D")),
            DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);
        var envelopes = Enumerable.Range(0, 5).Select(i => Envelope(tenant.Id, i)).ToList();

        // What Ingest commits; the process "dies" here, before PublishPendingAsync.
        await stores.Alerts.EvaluateAsync(tenant.Id, [], (_, _) => new AlertWrite
        {
            Outbox = [.. envelopes.Select(e => new OutboxMessage(Guid.NewGuid(), e.Body))],
        }, CancellationToken.None);

        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        // The receiver counts a request before the dispatcher records it: wait for the rows.
        while ((await stores.Deliveries.ListAsync(tenant.Id, created.Id, CancellationToken.None)).Count(d => d.State == "delivered") < 5
               && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        await Task.Delay(1000); // a duplicate would arrive meanwhile

        var accepted = receiver.Accepted("pipeline");
        Assert.Equal(envelopes.Select(e => e.Id), accepted.Select(r => r.WebhookId));
        foreach (var request in accepted)
        {
            // Our signer's output checked against a fresh signature at the same timestamp with the same secret.
            var expected = WebhookSigner.Sign(request.WebhookId, DateTimeOffset.FromUnixTimeSeconds(long.Parse(request.Headers["webhook-timestamp"],
                System.Globalization.CultureInfo.InvariantCulture)), request.Body, [secret]);
            Assert.Equal(expected.Signature, request.Headers["webhook-signature"]);
        }
        Assert.All(await stores.Deliveries.ListAsync(tenant.Id, created.Id, CancellationToken.None), d => Assert.Equal(("delivered", 1), (d.State, d.Attempts)));
    }

    private static (string Id, string Body) Envelope(Guid tenant, int n)
    {
        var id = WebhookEvent.NewId(DateTimeOffset.UtcNow.AddMilliseconds(n));
        return (id, new WebhookEvent
        {
            Id = id,
            Type = "alert.opened",
            Timestamp = DateTimeOffset.UtcNow,
            Tenant = tenant.ToString("D"),
            Data = JsonSerializer.SerializeToElement(new { alert = new { subject = "Machine", subjectId = "PIPE_PUMP", severity = "CRITICAL", n } }),
        }.Serialize());
    }
}
