using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pdm.Notifications.Attempts;
using Pdm.Notifications.Email;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Notifications.Delivery;

/// <summary>Why a turn ended.</summary>
public enum TurnEnd
{
    /// <summary>Nothing due is pending (or the message asked for nothing any more).</summary>
    Idle,

    /// <summary>Another worker holds the subscription's lease; it delivers what this message asked for.</summary>
    Busy,

    /// <summary>The subscription is disabled or gone.</summary>
    Disabled,

    /// <summary>The head failed and waits for its retry (a work message is queued with the delay).</summary>
    Retrying,

    /// <summary>The turn's budget is used up; a continuation message is queued.</summary>
    Continued,

    /// <summary>The receiver answered 410 Gone: the subscription is disabled.</summary>
    Gone,
}

/// <param name="Delivered">Deliveries that reached the receiver in this turn.</param>
/// <param name="DeadLettered">Deliveries that failed their last attempt in this turn.</param>
public sealed record TurnOutcome(TurnEnd End, int Delivered, int DeadLettered);

/// <summary>
/// DeliverWebhook's logic: one turn of one subscription. It takes the subscription's lease (one worker per
/// subscription), then delivers its pending deliveries oldest first, each signed with the subscription's valid secrets
/// (or mailed, for a <c>mailto:</c> subscription), recording every attempt in the attempt log. A failed head stops the
/// turn and waits for its retry (head-of-line, so the receiver sees events in order); after the last attempt it is
/// dead-lettered and the turn goes on. The turn hands over to a continuation message after a budget, so one busy
/// subscription does not keep a worker from the others.
/// </summary>
public sealed partial class WebhookDispatcher
{
    // Past the longest attempt, so a lease never runs out under a live worker.
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    // Deliveries read behind the head per database turn: one attempt-log transaction holds 50 attempts.
    private const int MaxBehind = 49;

    private readonly WebhookDeliveryStore _deliveries;
    private readonly SubscriptionStore _subscriptions;
    private readonly DeliveryWorkSender _queue;
    private readonly WebhookDeliveryClient _client;
    private readonly IWebhookSecretProtector _protector;
    private readonly DeliveryAttemptLog _attempts;
    private readonly EmailAlertSender? _email;
    private readonly WebhookDispatchOptions _options;
    private readonly WebhookRetrySchedule _schedule;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile bool _attemptTableReady;

    /// <param name="email">The e-mail channel; null when no SMTP relay is configured (e-mail deliveries then fail with that reason).</param>
    /// <param name="attemptTimeout">The longest one attempt may take (the client's and the e-mail sender's total timeouts).</param>
    public WebhookDispatcher(WebhookDeliveryStore deliveries, SubscriptionStore subscriptions, DeliveryWorkSender queue, WebhookDeliveryClient client,
        IWebhookSecretProtector protector, DeliveryAttemptLog attempts, EmailAlertSender? email, IOptions<WebhookDispatchOptions> options,
        TimeSpan attemptTimeout, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _deliveries = deliveries;
        _subscriptions = subscriptions;
        _queue = queue;
        _client = client;
        _protector = protector;
        _attempts = attempts;
        _email = email;
        _options = options.Value;
        _schedule = _options.RetrySchedule();
        _lease = attemptTimeout + LeaseMargin;
        _time = timeProvider;
        _logger = logger;
    }

    public WebhookRetrySchedule Schedule => _schedule;

    /// <summary>
    /// One turn for the message's subscription. Database, queue and table errors throw, so the host retries the
    /// message and poisons it after maxDequeueCount (the timer re-kicks the subscription later); a message that does
    /// not name a tenant and subscription throws <see cref="FormatException"/>.
    /// </summary>
    public async Task<TurnOutcome> DeliverAsync(WebhookDeliveryMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!Guid.TryParse(message.Tenant, out var tenantId) || !Guid.TryParse(message.SubscriptionId, out var subscriptionId))
        {
            throw new FormatException($"Webhook delivery message: tenant '{message.Tenant}' and subscriptionId '{message.SubscriptionId}' must be GUIDs.");
        }
        var owner = Guid.NewGuid();
        var attemptLog = new TurnAttemptLog(this, cancellationToken);
        try
        {
            var outcome = await TurnAsync(message, tenantId, subscriptionId, owner, attemptLog, cancellationToken);
            await attemptLog.FlushAsync();
            return outcome;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await attemptLog.FlushAsync();
            }
            catch (Exception logError) when (logError is not OperationCanceledException)
            {
                _logger.AttemptLogFailed(tenantId, subscriptionId, logError.Message);
            }
            // Give the lease back so the host's retry of this message (or another one) can start at once.
            try
            {
                await _deliveries.ReleaseAsync(tenantId, subscriptionId, owner, CancellationToken.None);
            }
            catch (Exception releaseError) when (releaseError is not OperationCanceledException)
            {
                _logger.LeaseReleaseFailed(tenantId, subscriptionId, releaseError.Message);
            }
            _logger.TurnFailed(tenantId, subscriptionId, ex);
            throw;
        }
    }

    private async Task<TurnOutcome> TurnAsync(WebhookDeliveryMessage message, Guid tenantId, Guid subscriptionId, Guid owner,
        TurnAttemptLog attemptLog, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var delivered = 0;
        var dead = 0;
        WebhookSubscriptionRow? subscription = null;
        while (true)
        {
            var taken = _time.GetTimestamp();
            var turn = await _deliveries.TakeTurnAsync(tenantId, subscriptionId, owner, _lease, cancellationToken,
                behind: Math.Max(0, Math.Min(MaxBehind, _options.DeliveriesPerTurn - delivered - dead - 1)));
            if (!turn.LeaseHeld)
            {
                subscription ??= await _subscriptions.GetAsync(tenantId, subscriptionId, cancellationToken);
                return new TurnOutcome(subscription is { Enabled: true } ? TurnEnd.Busy : TurnEnd.Disabled, delivered, dead);
            }
            if (turn.Head is not { } head || !turn.Due)
            {
                if (turn.Head is { } waiting && waiting.EventId == message.EventId && waiting.Attempts + 1 == message.Attempt)
                {
                    // This is the head's retry message, seen before the database's clock says it is due: wait the rest.
                    await _queue.EnqueueAsync(waiting, turn.DueIn, cancellationToken);
                }
                if (await _deliveries.ReleaseAsync(tenantId, subscriptionId, owner, cancellationToken))
                {
                    continue; // published while this turn was ending: go on rather than wait for the timer
                }
                return new TurnOutcome(TurnEnd.Idle, delivered, dead);
            }
            if (delivered + dead >= _options.DeliveriesPerTurn || _time.GetElapsedTime(started) >= _options.TurnBudget)
            {
                await _queue.EnqueueAsync(head, TimeSpan.Zero, cancellationToken);
                await _deliveries.ReleaseAsync(tenantId, subscriptionId, owner, cancellationToken);
                return new TurnOutcome(TurnEnd.Continued, delivered, dead);
            }

            // Read once per turn: a secret rotated or a URL changed mid-turn applies from the next turn.
            subscription ??= await _subscriptions.GetAsync(tenantId, subscriptionId, cancellationToken);
            if (subscription is null)
            {
                return new TurnOutcome(TurnEnd.Disabled, delivered, dead);
            }

            // The head, then the due deliveries behind it, in order while they succeed. Successes are recorded together
            // (one database statement, one attempt-log transaction): a crash before that sends them again, with the same
            // webhook-id, which receivers dedupe. New attempts stop well inside the lease.
            var succeeded = new List<(WebhookDeliveryRow Row, int Attempt, DeliveryChannel Channel, WebhookAttemptResult Result)>();
            (WebhookDeliveryRow Row, DeliveryChannel Channel, WebhookAttemptResult Result)? failure = null;
            foreach (var row in (WebhookDeliveryRow[])[head, .. turn.Behind])
            {
                if (succeeded.Count > 0 && (_time.GetElapsedTime(taken) >= LeaseMargin || _time.GetElapsedTime(started) >= _options.TurnBudget))
                {
                    break;
                }
                var outcome = await AttemptAsync(subscription, row, cancellationToken);
                if (outcome.Result.Outcome != WebhookAttemptOutcome.Delivered)
                {
                    failure = (row, outcome.Channel, outcome.Result);
                    break;
                }
                succeeded.Add((row, row.Attempts + 1, outcome.Channel, outcome.Result));
            }
            if (succeeded.Count > 0)
            {
                await _deliveries.MarkDeliveredAsync(tenantId, [.. succeeded.Select(d => (d.Row.Id, d.Attempt))], cancellationToken);
                await attemptLog.AppendAsync([.. succeeded.Select(d => Attempt(d.Row, d.Attempt, d.Channel, d.Result))]);
                delivered += succeeded.Count;
            }
            if (failure is not { } f)
            {
                continue;
            }
            var (failed, channel, result) = f;

            var attempt = failed.Attempts + 1;
            if (result.Outcome == WebhookAttemptOutcome.Gone)
            {
                var reason = $"Receiver answered 410 Gone at {result.AttemptedAt:O}; subscription disabled";
                await _deliveries.DisableAsync(tenantId, subscriptionId, reason, cancellationToken);
                await _deliveries.DeadLetterAsync(tenantId, failed.Id, attempt, result.Error ?? reason, cancellationToken);
                await attemptLog.AppendAsync([Attempt(failed, attempt, channel, result)]);
                _logger.SubscriptionGone(tenantId, subscriptionId, failed.EventId);
                await _deliveries.ReleaseAsync(tenantId, subscriptionId, owner, cancellationToken);
                return new TurnOutcome(TurnEnd.Gone, delivered, dead + 1);
            }
            var error = result.Error ?? result.Outcome.ToString();
            var decision = _schedule.AfterFailedAttempt(attempt, Random.Shared);
            if (decision.DeadLetter)
            {
                await _deliveries.DeadLetterAsync(tenantId, failed.Id, attempt, error, cancellationToken);
                await attemptLog.AppendAsync([Attempt(failed, attempt, channel, result)]);
                _logger.DeliveryDeadLettered(tenantId, subscriptionId, failed.EventId, attempt, error);
                dead++;
                continue;
            }
            // The retry's message before the log: if the log's store fails now, the retry is still on its way.
            await _deliveries.ScheduleRetryAsync(tenantId, failed.Id, attempt, decision.Delay, error, cancellationToken);
            await _queue.EnqueueAsync(failed with { Attempts = attempt }, decision.Delay, cancellationToken);
            await attemptLog.AppendAsync([Attempt(failed, attempt, channel, result)]);
            _logger.DeliveryWillRetry(tenantId, subscriptionId, failed.EventId, attempt, decision.Delay, error);
            await _deliveries.ReleaseAsync(tenantId, subscriptionId, owner, cancellationToken);
            return new TurnOutcome(TurnEnd.Retrying, delivered, dead);
        }
    }

    private async Task<(DeliveryChannel Channel, WebhookAttemptResult Result)> AttemptAsync(WebhookSubscriptionRow subscription,
        WebhookDeliveryRow head, CancellationToken cancellationToken)
    {
        if (subscription.Url.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            if (_email is null)
            {
                return (DeliveryChannel.Email, Failure("E-mail channel is not configured (set Pdm:Email:Host and Pdm:Email:From)."));
            }
            return (DeliveryChannel.Email, await _email.SendAsync(new EmailDeliveryRequest(MailtoAddresses(subscription.Url), head.Body), cancellationToken));
        }

        IReadOnlyList<WebhookSecret> secrets;
        try
        {
            secrets = Secrets(subscription).ValidAt(_time.GetUtcNow());
        }
        catch (WebhookSecretProtectionException ex)
        {
            _logger.SecretUnreadable(subscription.TenantId, subscription.Id, ex.Message);
            return (DeliveryChannel.Webhook, Failure($"Subscription secret cannot be decrypted: {ex.Message}"));
        }
        if (!Uri.TryCreate(subscription.Url, UriKind.Absolute, out var url))
        {
            return (DeliveryChannel.Webhook, Failure($"Subscription url '{subscription.Url}' is not an absolute URL."));
        }
        var request = new WebhookDeliveryRequest(url, head.EventId, head.Body, secrets, subscription.AllowLoopback);
        return (DeliveryChannel.Webhook, await _client.DeliverAsync(request, cancellationToken));
    }

    private WebhookSecretSet Secrets(WebhookSubscriptionRow subscription)
    {
        // The protector binds each secret to its subscription's id: a row copied elsewhere does not decrypt.
        var context = subscription.Id.ToString("D");
        var current = _protector.Unprotect(subscription.Secret, context);
        var previous = subscription.PreviousSecret is { } bytes && subscription.PreviousSecretValidUntil > _time.GetUtcNow()
            ? _protector.Unprotect(bytes, context)
            : null;
        return new WebhookSecretSet(current, previous, previous is null ? null : subscription.PreviousSecretValidUntil);
    }

    /// <summary>The addresses of a <c>mailto:</c> URL (RFC 6068: comma separated, percent-encoded; header fields ignored).</summary>
    internal static IReadOnlyList<string> MailtoAddresses(string url)
    {
        var to = url["mailto:".Length..];
        var query = to.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            to = to[..query];
        }
        return [.. to.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Uri.UnescapeDataString)];
    }

    private WebhookAttemptResult Failure(string error) => new(WebhookAttemptOutcome.Failed, _time.GetUtcNow(), TimeSpan.Zero, Error: error);

    private static DeliveryAttempt Attempt(WebhookDeliveryRow row, int attempt, DeliveryChannel channel, WebhookAttemptResult result) =>
        new(row.TenantId.ToString("D"), row.SubscriptionId.ToString("D"), row.EventId, attempt, channel, result);

    /// <summary>
    /// A turn's appends to the attempt log, one in flight at a time: the next round of sends goes on while table storage
    /// writes the last round (Azurite took 45-140 ms for a round of 50 attempts that took 10-15 ms to send, and the turn
    /// waited). The turn ends only when its last append has; an append that fails fails the turn, as before.
    /// </summary>
    private sealed class TurnAttemptLog(WebhookDispatcher dispatcher, CancellationToken cancellationToken)
    {
        private Task _inFlight = Task.CompletedTask;

        public async Task AppendAsync(IReadOnlyList<DeliveryAttempt> attempts)
        {
            // Taken before awaiting: a failed append fails the turn here, and is not reported again by the flush.
            var previous = _inFlight;
            _inFlight = Task.CompletedTask;
            await previous;
            _inFlight = dispatcher.LogAttemptsAsync(attempts, cancellationToken);
        }

        public Task FlushAsync() => _inFlight;
    }

    private async Task LogAttemptsAsync(IReadOnlyList<DeliveryAttempt> attempts, CancellationToken cancellationToken)
    {
        // Once per process: creating a table that exists is a no-op, and a fresh storage account has none.
        if (!_attemptTableReady)
        {
            await _attempts.CreateTableIfNotExistsAsync(cancellationToken);
            _attemptTableReady = true;
        }
        await _attempts.AppendAsync(attempts, cancellationToken);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 10210, Level = LogLevel.Warning,
        Message = "Delivery of {EventId} to subscription {SubscriptionId} of tenant {TenantId} failed attempt {Attempt}; next in {Delay}: {Error}")]
    public static partial void DeliveryWillRetry(this ILogger logger, Guid tenantId, Guid subscriptionId, string eventId, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 10211, Level = LogLevel.Error,
        Message = "Delivery of {EventId} to subscription {SubscriptionId} of tenant {TenantId} dead-lettered after {Attempts} attempts: {Error}")]
    public static partial void DeliveryDeadLettered(this ILogger logger, Guid tenantId, Guid subscriptionId, string eventId, int attempts, string error);

    [LoggerMessage(EventId = 10212, Level = LogLevel.Warning,
        Message = "Subscription {SubscriptionId} of tenant {TenantId} disabled: its receiver answered 410 Gone to {EventId}")]
    public static partial void SubscriptionGone(this ILogger logger, Guid tenantId, Guid subscriptionId, string eventId);

    [LoggerMessage(EventId = 10213, Level = LogLevel.Error,
        Message = "Secret of subscription {SubscriptionId} of tenant {TenantId} cannot be decrypted: {Reason}")]
    public static partial void SecretUnreadable(this ILogger logger, Guid tenantId, Guid subscriptionId, string reason);

    [LoggerMessage(EventId = 10214, Level = LogLevel.Error,
        Message = "Delivery turn of subscription {SubscriptionId} of tenant {TenantId} failed; the message will be retried")]
    public static partial void TurnFailed(this ILogger logger, Guid tenantId, Guid subscriptionId, Exception exception);

    [LoggerMessage(EventId = 10217, Level = LogLevel.Error,
        Message = "Attempts of subscription {SubscriptionId} of tenant {TenantId} were not all logged (the turn failed too): {Reason}")]
    public static partial void AttemptLogFailed(this ILogger logger, Guid tenantId, Guid subscriptionId, string reason);

    [LoggerMessage(EventId = 10215, Level = LogLevel.Warning,
        Message = "Lease of subscription {SubscriptionId} of tenant {TenantId} could not be given back (it expires by itself): {Reason}")]
    public static partial void LeaseReleaseFailed(this ILogger logger, Guid tenantId, Guid subscriptionId, string reason);
}
