using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Notifications.Attempts;
using Pdm.Notifications.Delivery;
using Pdm.Notifications.Email;
using Pdm.Notifications.Tests.Email;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Notifications.Tests.Delivery;

/// <summary>
/// One test's delivery pipeline on the shared servers: its own tenant, work queue and attempt table, the publisher and
/// the dispatcher as DeliverWebhook runs them, and a pump that plays the Functions host's queue trigger (receive,
/// invoke, delete on success; a failed message becomes visible again) so retries really wait in Azurite.
/// </summary>
public sealed class DeliveryRig : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Exception> _pumpErrors = new();
    private readonly QueueClient _queue;
    private Task? _pump;

    private DeliveryRig(DeliveryFixture fixture, Tenant tenant, TestReceiver receiver, WebhookDispatchOptions options, EmailOptions? email)
    {
        Fixture = fixture;
        Tenant = tenant;
        Receiver = receiver;
        var name = $"wh-{Guid.NewGuid():N}"[..30];
        options.Queue = name;
        _queue = fixture.Storage.Queues.GetQueueClient(name);
        Protector = new AesGcmWebhookSecretProtector(new WebhookSecretKeyOptions { WebhookSecretKey = AesGcmWebhookSecretProtector.GenerateKey() });
        Attempts = new DeliveryAttemptLog(fixture.Storage.Tables.GetTableClient($"attempts{Guid.NewGuid():N}"));
        Sender = new DeliveryWorkSender(_queue);
        var clientOptions = new WebhookDeliveryOptions { AllowHttp = true, AllowLoopback = true, TotalTimeout = TimeSpan.FromSeconds(5) };
        Client = new WebhookDeliveryClient(clientOptions, TimeProvider.System);
        Publisher = new AlertPublisher(fixture.Stores.Deliveries, fixture.Stores.Subscriptions, Sender, Options.Create(options), NullLogger<AlertPublisher>.Instance);
        Dispatcher = new WebhookDispatcher(fixture.Stores.Deliveries, fixture.Stores.Subscriptions, Sender, Client, Protector, Attempts,
            email is null ? null : new EmailAlertSender(email, TimeProvider.System), Options.Create(options), clientOptions.TotalTimeout,
            TimeProvider.System, NullLogger<WebhookDispatcher>.Instance);
    }

    public DeliveryFixture Fixture { get; }
    public Tenant Tenant { get; }
    public TestReceiver Receiver { get; }
    public IWebhookSecretProtector Protector { get; }
    public DeliveryAttemptLog Attempts { get; }
    public DeliveryWorkSender Sender { get; }
    public WebhookDeliveryClient Client { get; }
    public AlertPublisher Publisher { get; }
    public WebhookDispatcher Dispatcher { get; }
    public WebhookDeliveryStore Deliveries => Fixture.Stores.Deliveries;
    public SubscriptionStore Subscriptions => Fixture.Stores.Subscriptions;

    /// <param name="retryDelays">The compressed schedule (Pdm:Webhooks:RetryDelays); queue visibility counts whole seconds.</param>
    public static async Task<DeliveryRig> StartAsync(DeliveryFixture fixture, string retryDelays = "00:00:01,00:00:01,00:00:02", EmailOptions? email = null,
        int deliveriesPerTurn = 100)
    {
        var tenant = await fixture.Stores.Tenants.CreateTenantAsync($"delivery-{Guid.NewGuid():N}", CancellationToken.None);
        var options = new WebhookDispatchOptions
        {
            RetryDelays = retryDelays,
            RetryJitter = 0,
            OverdueAfter = TimeSpan.FromSeconds(1),
            DeliveriesPerTurn = deliveriesPerTurn,
        };
        var rig = new DeliveryRig(fixture, tenant, await TestReceiver.StartAsync(), options, email);
        await rig.Attempts.CreateTableIfNotExistsAsync(CancellationToken.None);
        await rig._queue.CreateIfNotExistsAsync();
        return rig;
    }

    /// <summary>A subscription of this tenant to <paramref name="url"/>, its secret sealed for its id as the API seals it.</summary>
    public async Task<(WebhookSubscriptionRow Row, WebhookSecret Secret)> SubscribeAsync(string url, SubscriptionFilters? filters = null,
        bool allowLoopback = true, Guid? tenantId = null)
    {
        var tenant = tenantId ?? Tenant.Id;
        var created = await Subscriptions.CreateAsync(tenant,
            new WebhookSubscriptionSettings { Url = url, Filters = filters ?? SubscriptionFilters.All, AllowLoopback = allowLoopback }, [0], CancellationToken.None);
        var secret = WebhookSecret.Generate();
        // The id is the protector's context and exists only after the insert: seal the real secret now; the placeholder
        // stops signing at once (valid until the past).
        var row = await Subscriptions.RotateSecretAsync(tenant, created.Id, Protector.Protect(secret, created.Id.ToString("D")),
            DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);
        return (row!, secret);
    }

    /// <summary>
    /// Writes <paramref name="count"/> alert events to the outbox as the evaluation does (through <see cref="AlertRecords"/>,
    /// in one transaction, in order) and returns their webhook-ids in that order.
    /// </summary>
    public async Task<IReadOnlyList<string>> WriteEventsAsync(int count, AlertSeverity severity = AlertSeverity.High, Guid? tenantId = null)
    {
        var tenant = tenantId ?? Tenant.Id;
        var events = Enumerable.Range(0, count)
            .Select(i => AlertEvents.VibrationZoneD(severity: severity) with { Id = Guid.CreateVersion7(AlertEvents.T0.AddSeconds(i)), At = AlertEvents.T0.AddSeconds(i) })
            .ToList();
        await Fixture.Stores.Alerts.EvaluateAsync(tenant, [], (_, _) => new AlertWrite
        {
            Outbox = [.. events.Select(e => AlertRecords.ToOutbox(tenant, e))],
        }, CancellationToken.None);
        return [.. events.Select(e => AlertRecords.WebhookId(e.Id))];
    }

    /// <summary>Starts playing the queue trigger: up to 16 messages at a time, as host.json's batchSize.</summary>
    public void StartPump() => _pump ??= Task.Run(PumpAsync);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after <paramref name="timeout"/> or on a pump error.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (_pumpErrors.TryPeek(out var error))
            {
                throw new InvalidOperationException($"A delivery turn failed while waiting for {what}", error);
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling an async probe.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.False(_pumpErrors.TryPeek(out var error), $"A delivery turn failed while waiting for {what}: {error}");
            if (DateTimeOffset.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Waits until <paramref name="count"/> deliveries of the subscription are recorded delivered, their attempts logged.
    /// The dispatcher records a turn's successes after it has sent them all, so a receiver sees them first.
    /// </summary>
    public Task WaitUntilRecordedAsync(Guid subscriptionId, int count, Guid? tenantId = null, TimeSpan? timeout = null)
    {
        var tenant = tenantId ?? Tenant.Id;
        return WaitUntilAsync(async () =>
        {
            var rows = await Deliveries.ListAsync(tenant, subscriptionId, CancellationToken.None);
            var log = await Attempts.ReadSubscriptionAsync(tenant.ToString("D"), subscriptionId.ToString("D"), count + 100, null, CancellationToken.None);
            return rows.Count(d => d.State == "delivered") >= count
                && log.Attempts.Count(a => a.Result.Outcome == WebhookAttemptOutcome.Delivered) >= count;
        }, $"{count} deliveries recorded", timeout);
    }

    public void AssertPumpHealthy() => Assert.True(_pumpErrors.IsEmpty, string.Join(Environment.NewLine, _pumpErrors));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null)
        {
            try
            {
                await _pump;
            }
            catch (OperationCanceledException)
            {
            }
        }
        // Leave nothing pending behind: the timer's overdue search spans every tenant, and the next test asks it.
        foreach (var subscription in await Subscriptions.ListAsync(Tenant.Id, CancellationToken.None))
        {
            await Subscriptions.DeleteAsync(Tenant.Id, subscription.Id, CancellationToken.None);
        }
        Client.Dispose();
        await Receiver.DisposeAsync();
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        // As the host: up to 16 messages in flight, and the next receive as soon as a slot is free, so one slow
        // invocation does not hold up the messages behind it.
        var token = _stop.Token;
        using var slots = new SemaphoreSlim(16, 16);
        var running = new List<Task>();
        while (!token.IsCancellationRequested)
        {
            await slots.WaitAsync(token);
            var free = slots.CurrentCount + 1;
            var messages = (await _queue.ReceiveMessagesAsync(free, TimeSpan.FromSeconds(30), token)).Value;
            if (messages.Length == 0)
            {
                slots.Release();
                await Task.Delay(50, token);
                continue;
            }
            for (var i = 1; i < messages.Length; i++)
            {
                await slots.WaitAsync(token);
            }
            running.RemoveAll(t => t.IsCompleted);
            running.AddRange(messages.Select(m => Task.Run(async () =>
            {
                try
                {
                    await Dispatcher.DeliverAsync(WebhookDeliveryMessage.Parse(m.Body.ToString()), token);
                    await _queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, CancellationToken.None);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    _pumpErrors.Enqueue(ex);
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None)));
        }
        await Task.WhenAll(running);
    }
}
