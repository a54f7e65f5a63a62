using Pdm.Notifications.Attempts;
using Pdm.Notifications.Delivery;
using Pdm.Notifications.Email;
using Pdm.Notifications.Tests.Email;
using Pdm.Storage;
using Pdm.Webhooks;
using Pdm.Webhooks.Tests;

namespace Pdm.Notifications.Tests.Delivery;

/// <summary>
/// From the outbox to the receiver on real servers: PostgreSQL, Azurite's queue (visibility delays are the retry
/// waits) and table, Kestrel receivers, the SMTP sink. The retry schedule is compressed (whole seconds).
/// </summary>
[Collection(DeliveryCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class WebhookDeliveryTests(DeliveryFixture fixture)
{
    [Fact]
    public async Task Events_reach_a_healthy_receiver_in_order_each_signed_as_the_reference_verifier_accepts()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture, deliveriesPerTurn: 7);
        var (subscription, secret) = await rig.SubscribeAsync(rig.Receiver.Url("ok"));
        var events = await rig.WriteEventsAsync(20);

        var published = await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("ok").Count >= 20, "20 deliveries");
        await rig.WaitUntilRecordedAsync(subscription.Id, 20);

        Assert.Equal((20, 20, 20, 1), (published.Claimed, published.Published, published.Deliveries, published.Kicked));
        var received = rig.Receiver.Accepted("ok");
        Assert.Equal(events, received.Select(r => r.WebhookId));
        foreach (var request in received)
        {
            var verdicts = await ReferenceVerifier.VerifyAsync(request.Body, request.Headers, secret.Encoded);
            Assert.Equal(["ok"], verdicts);
        }
        Assert.All(await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None),
            d => Assert.Equal(("delivered", 1), (d.State, d.Attempts)));
        var log = await rig.Attempts.ReadSubscriptionAsync(rig.Tenant.Id.ToString("D"), subscription.Id.ToString("D"), 100, null, CancellationToken.None);
        Assert.Equal(20, log.Attempts.Count);
        Assert.All(log.Attempts, a => Assert.Equal((WebhookAttemptOutcome.Delivered, 200, DeliveryChannel.Webhook), (a.Result.Outcome, a.Result.StatusCode, a.Channel)));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task A_receiver_down_for_a_while_then_back_gets_every_event_in_order_once_per_webhook_id()
    {
        // Down across four attempts of the head: 1 s, 1 s and 2 s apart, about ten minutes of the real schedule's early steps.
        await using var rig = await DeliveryRig.StartAsync(fixture, retryDelays: "00:00:01,00:00:01,00:00:02,00:00:02,00:00:02,00:00:02");
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("flaky"));
        rig.Receiver.Answer("flaky", 503);
        var events = await rig.WriteEventsAsync(5);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(() => rig.Receiver.To("flaky").Count >= 4, "four refused attempts");
        var whileDown = rig.Receiver.To("flaky");
        rig.Receiver.Answer("flaky", 200);
        await rig.WaitUntilRecordedAsync(subscription.Id, 5, timeout: TimeSpan.FromSeconds(40));
        await Task.Delay(1500); // anything sent twice would arrive meanwhile

        // Head-of-line: while the receiver was down only the oldest event was tried, the rest waited behind it.
        Assert.All(whileDown, r => Assert.Equal(events[0], r.WebhookId));
        var accepted = rig.Receiver.Accepted("flaky");
        Assert.Equal(events, accepted.Select(r => r.WebhookId));
        var rows = await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None);
        Assert.All(rows, d => Assert.Equal("delivered", d.State));
        Assert.True(rows[0].Attempts >= 5, $"the head took {rows[0].Attempts} attempts");
        var headLog = await rig.Attempts.ReadEventAsync(rig.Tenant.Id.ToString("D"), subscription.Id.ToString("D"), events[0], CancellationToken.None);
        Assert.Equal(rows[0].Attempts, headLog.Count);
        Assert.Equal(WebhookAttemptOutcome.Delivered, headLog[^1].Result.Outcome);
        Assert.All(headLog.SkipLast(1), a => Assert.Equal(503, a.Result.StatusCode));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task A_receiver_that_never_recovers_ends_in_dead_letters_that_replay_one_by_one_and_in_bulk()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture, retryDelays: "00:00:01,00:00:01");
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("dead"));
        rig.Receiver.Answer("dead", 500);
        var events = await rig.WriteEventsAsync(3);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(async () => (await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None)).Count == 3,
            "three dead letters", TimeSpan.FromSeconds(40));

        var deadLetters = await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None);
        Assert.All(deadLetters, d => Assert.Equal(3, d.Attempts));
        Assert.Equal(9, rig.Receiver.To("dead").Count);
        Assert.All(await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None), d => Assert.Equal("dead", d.State));

        rig.Receiver.Answer("dead", 200);
        var second = deadLetters.Single(d => d.EventId == events[1]);
        var replayed = await rig.Deliveries.ReplayDeadLettersAsync(rig.Tenant.Id, [second.Id], null, CancellationToken.None);
        Assert.Equal([events[1]], replayed.Select(d => d.EventId));
        Assert.True(await rig.Publisher.KickAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None));
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("dead").Count == 1, "the replayed event");
        Assert.Equal(events[1], rig.Receiver.Accepted("dead")[0].WebhookId);

        // Bulk: every pending dead letter of the subscription; a second replay finds nothing left.
        var bulk = await rig.Deliveries.ReplayDeadLettersAsync(rig.Tenant.Id, null, subscription.Id, CancellationToken.None);
        Assert.Empty(await rig.Deliveries.ReplayDeadLettersAsync(rig.Tenant.Id, null, subscription.Id, CancellationToken.None));
        Assert.Equal([events[0], events[2]], bulk.Select(d => d.EventId).Order(StringComparer.Ordinal));
        await rig.Publisher.KickAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None);
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("dead").Count == 3, "the bulk replay");
        Assert.Equal([events[1], events[0], events[2]], rig.Receiver.Accepted("dead").Select(r => r.WebhookId));
        Assert.Empty(await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task A_publisher_that_dies_before_its_commit_publishes_nothing_and_the_next_run_publishes_everything_once()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("crash"));
        var events = await rig.WriteEventsAsync(4);

        // The process dies while routing the claimed rows: the transaction never commits.
        await Assert.ThrowsAsync<IOException>(() => rig.Deliveries.PublishOutboxAsync(100,
            (_, _) => Task.FromException<IReadOnlyList<OutboxRouting?>>(new IOException("process killed")), CancellationToken.None));
        Assert.Empty(await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None));

        // The timer runs the publisher, twice (a second instance, or the next tick): each event is delivered once.
        await rig.Publisher.RunAsync(CancellationToken.None);
        await rig.Publisher.RunAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("crash").Count >= 4, "four deliveries");
        await Task.Delay(1500);
        Assert.Equal(events, rig.Receiver.Accepted("crash").Select(r => r.WebhookId));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task Deliveries_committed_without_their_work_messages_are_found_by_the_timer_and_delivered_exactly_once()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("lost"));
        var events = await rig.WriteEventsAsync(3);

        // The publish transaction commits (deliveries made, outbox marked), then the process dies before enqueueing.
        var committed = await rig.Deliveries.PublishOutboxAsync(100, (rows, _) => Task.FromResult<IReadOnlyList<OutboxRouting?>>([.. rows.Select(row =>
            new OutboxRouting(System.Text.Json.JsonDocument.Parse(row.PayloadJson).RootElement.GetProperty("id").GetString()!, [subscription.Id]))]),
            CancellationToken.None);
        Assert.Equal(3, committed.Deliveries);
        rig.StartPump();
        Assert.Equal(0, (await rig.Publisher.PublishPendingAsync(CancellationToken.None)).Claimed);

        // Not yet overdue: the timer leaves it; once overdue it sends the lost work message, once per overdue period.
        Assert.Equal(0, await rig.Publisher.KickOverdueAsync(CancellationToken.None));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(1, (await rig.Publisher.RunAsync(CancellationToken.None)).Kicked);
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("lost").Count >= 3, "three deliveries");
        Assert.Equal(0, await rig.Publisher.KickOverdueAsync(CancellationToken.None));

        // Duplicate work messages (a re-kick racing the real one) find nothing pending: no event is sent twice.
        var last = (await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None))[^1];
        await rig.Sender.EnqueueAsync(last with { State = "pending", Attempts = 0 }, TimeSpan.Zero, CancellationToken.None);
        await rig.Sender.EnqueueAsync(last with { State = "pending", Attempts = 0 }, TimeSpan.Zero, CancellationToken.None);
        await Task.Delay(1500);
        Assert.Equal(events, rig.Receiver.Accepted("lost").Select(r => r.WebhookId));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task A_410_Gone_disables_the_subscription_and_dead_letters_the_event_with_the_reason()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("gone"));
        rig.Receiver.Answer("gone", 410);
        var events = await rig.WriteEventsAsync(2);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(async () => (await rig.Subscriptions.GetAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None))!.Enabled == false,
            "the subscription disabled");
        await Task.Delay(1500);

        Assert.Single(rig.Receiver.To("gone"));
        Assert.Contains("410", await rig.Deliveries.DisabledReasonAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None), StringComparison.Ordinal);
        var deadLetter = Assert.Single(await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None));
        Assert.Equal(events[0], deadLetter.EventId);
        Assert.Contains("410", deadLetter.LastError, StringComparison.Ordinal);
        // The second waits, pending, for the subscription to be enabled again; the timer does not kick a disabled one.
        Assert.Equal(events[1], (await rig.Deliveries.HeadAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None))!.EventId);
        await Task.Delay(1200);
        Assert.Equal(0, await rig.Publisher.KickOverdueAsync(CancellationToken.None));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task A_slow_receiver_does_not_hold_up_another_tenants_deliveries()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var otherTenant = await fixture.Stores.Tenants.CreateTenantAsync($"delivery-other-{Guid.NewGuid():N}", CancellationToken.None);
        var (slow, _) = await rig.SubscribeAsync(rig.Receiver.Url("slow"));
        rig.Receiver.Slow("slow", TimeSpan.FromSeconds(3));
        var (fast, _) = await rig.SubscribeAsync(rig.Receiver.Url("fast"), tenantId: otherTenant.Id);
        await rig.WriteEventsAsync(5);
        var fastEvents = await rig.WriteEventsAsync(20, tenantId: otherTenant.Id);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        var started = DateTimeOffset.UtcNow;
        rig.StartPump();
        await rig.WaitUntilAsync(() => rig.Receiver.Accepted("fast").Count >= 20, "the fast receiver's 20 events");

        // The slow receiver's five take 15 s; the other tenant's twenty were all there long before.
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(5), $"took {DateTimeOffset.UtcNow - started}");
        Assert.True(rig.Receiver.Accepted("slow").Count <= 2, $"{rig.Receiver.Accepted("slow").Count} slow deliveries already");
        Assert.Equal(fastEvents, rig.Receiver.Accepted("fast").Select(r => r.WebhookId));
        await rig.WaitUntilRecordedAsync(slow.Id, 5, timeout: TimeSpan.FromSeconds(40));
        Assert.All(await rig.Deliveries.ListAsync(rig.Tenant.Id, slow.Id, CancellationToken.None), d => Assert.Equal(("delivered", 1), (d.State, d.Attempts)));
        Assert.Equal(5, rig.Receiver.Accepted("slow").Count);
        await fixture.Stores.Subscriptions.DeleteAsync(otherTenant.Id, fast.Id, CancellationToken.None);
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task An_email_subscription_gets_the_alert_at_the_SMTP_sink_and_its_attempt_is_logged_as_email()
    {
        await using var sink = new SmtpSink();
        await using var rig = await DeliveryRig.StartAsync(fixture, email: new EmailOptions
        {
            Host = "127.0.0.1",
            Port = sink.Port,
            Security = EmailSecurity.None,
            From = "alerts@pdm.example",
        });
        var (subscription, _) = await rig.SubscribeAsync("mailto:oncall@plant.example,lead@plant.example");
        var events = await rig.WriteEventsAsync(1);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(() => sink.Messages.Count >= 1, "the e-mail");

        var mail = Assert.Single(sink.Messages);
        Assert.Equal(["oncall@plant.example", "lead@plant.example"], mail.To);
        Assert.Equal(events[0], mail.Message.Headers["X-Pdm-Event-Id"]);
        await rig.WaitUntilAsync(async () => (await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None))[0].State == "delivered",
            "the delivery recorded");
        var attempt = Assert.Single((await rig.Attempts.ReadSubscriptionAsync(rig.Tenant.Id.ToString("D"), subscription.Id.ToString("D"), 10, null,
            CancellationToken.None)).Attempts);
        Assert.Equal((DeliveryChannel.Email, WebhookAttemptOutcome.Delivered), (attempt.Channel, attempt.Result.Outcome));
        rig.AssertPumpHealthy();
    }

    [Fact]
    public async Task Concurrent_publishers_make_each_delivery_once_in_outbox_order()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("many"));
        var events = new List<string>();
        for (var batch = 0; batch < 5; batch++)
        {
            events.AddRange(await rig.WriteEventsAsync(10));
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => rig.Publisher.PublishPendingAsync(CancellationToken.None))));

        Assert.Equal(50, outcomes.Sum(o => o.Deliveries));
        Assert.Equal(events, (await rig.Deliveries.ListAsync(rig.Tenant.Id, subscription.Id, CancellationToken.None)).Select(d => d.EventId));
    }

    [Fact]
    public async Task Only_subscriptions_whose_filters_match_get_a_delivery()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture);
        var (critical, _) = await rig.SubscribeAsync(rig.Receiver.Url("critical"), new SubscriptionFilters { Severities = ["CRITICAL"] });
        var (pumps, _) = await rig.SubscribeAsync(rig.Receiver.Url("pumps"), new SubscriptionFilters { Machines = ["PUMP_001"], EventTypes = ["alert.opened"] });
        await rig.WriteEventsAsync(2);

        var published = await rig.Publisher.PublishPendingAsync(CancellationToken.None);

        Assert.Equal((2, 2), (published.Published, published.Deliveries));
        Assert.Empty(await rig.Deliveries.ListAsync(rig.Tenant.Id, critical.Id, CancellationToken.None));
        Assert.Equal(2, (await rig.Deliveries.ListAsync(rig.Tenant.Id, pumps.Id, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Loopback_is_refused_unless_both_the_subscription_and_the_development_setting_allow_it()
    {
        await using var rig = await DeliveryRig.StartAsync(fixture, retryDelays: "00:00:01");
        var (subscription, _) = await rig.SubscribeAsync(rig.Receiver.Url("local"), allowLoopback: false);
        await rig.WriteEventsAsync(1);

        await rig.Publisher.PublishPendingAsync(CancellationToken.None);
        rig.StartPump();
        await rig.WaitUntilAsync(async () => (await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None)).Count == 1,
            "the dead letter", TimeSpan.FromSeconds(20));

        Assert.Empty(rig.Receiver.To("local"));
        var deadLetter = Assert.Single(await rig.Subscriptions.ListDeadLettersAsync(rig.Tenant.Id, subscription.Id, true, 10, CancellationToken.None));
        Assert.Contains("loopback", deadLetter.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mailto_url_gives_its_addresses()
    {
        Assert.Equal(["a@plant.example", "b@plant.example"], WebhookDispatcher.MailtoAddresses("mailto:a@plant.example,b@plant.example?subject=Alerts"));
    }
}
