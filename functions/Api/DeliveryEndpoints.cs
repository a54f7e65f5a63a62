using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Pdm.Notifications.Attempts;
using Pdm.Notifications.Delivery;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// What happened to a tenant's webhook and e-mail deliveries: each subscription's attempt log (Table storage, newest
/// first, paged), the dead letters, and their replay (one, or in bulk). Reading: any tenant role; replay: operator or admin.
/// </summary>
internal static class DeliveryEndpoints
{
    private const int MaxAttempts = DeliveryAttemptLog.MaxPageSize;
    private const int MaxDeadLetters = 1000;

    public static void MapDeliveries(this RouteGroupBuilder v1)
    {
        v1.MapGet("/webhooks/{subscriptionId:guid}/deliveries", ListAttemptsAsync)
            .WithName("ListDeliveries").WithSummary("Delivery attempts of a subscription, newest first, paged").Produces<AttemptPageDto>();
        v1.MapGet("/webhooks/dead-letters", ListDeadLettersAsync)
            .WithName("ListDeadLetters").WithSummary("Events that could not be delivered, latest first, a page at a time").Produces<Page<DeadLetterDto>>();
        v1.MapPost("/webhooks/dead-letters/{deadLetterId:guid}/replay", ReplayOneAsync)
            .WithName("ReplayDeadLetter").WithSummary("Deliver one dead letter again (operator)").Produces<ReplayResultDto>();
        v1.MapPost("/webhooks/dead-letters/replay", ReplayManyAsync)
            .WithName("ReplayDeadLetters").WithSummary("Deliver dead letters again in bulk (operator)").Produces<ReplayResultDto>();
    }

    /// <summary>
    /// Table storage pages these with its own continuation token: <c>cursor</c>/<c>next</c>/<c>nextLink</c> carry it as every
    /// other list's cursor, and <c>continuationToken</c> stays for the clients written before.
    /// </summary>
    private static async Task<IResult> ListAttemptsAsync(Guid subscriptionId, string? limit, string? cursor, string? continuationToken, HttpContext http,
        SubscriptionStore subscriptions, WebhookDeliveryStore deliveries, DeliveryAttemptLog attempts, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (cursor is not null)
        {
            if (!PageCursor.TryParse(cursor, out var parsed))
            {
                return Problems.Invalid("cursor", Paging.InvalidCursor);
            }
            continuationToken = parsed.Id;
        }
        if (QueryValues.Limit(limit, 100, MaxAttempts, out var pageSize) is { } badLimit)
        {
            return Problems.Invalid("limit", badLimit);
        }
        if (await subscriptions.GetAsync(tenant, subscriptionId, cancellationToken) is not { } subscription)
        {
            return Problems.NotFound($"no webhook subscription {subscriptionId} in this tenant");
        }
        DeliveryAttemptPage page;
        try
        {
            page = await attempts.ReadSubscriptionAsync(tenant.ToString("D"), subscriptionId.ToString("D"), pageSize, continuationToken, cancellationToken);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == StatusCodes.Status404NotFound)
        {
            page = new DeliveryAttemptPage([], null); // no attempt was ever made: the table is made with the first one
        }
        catch (ArgumentException) when (continuationToken is not null)
        {
            return cursor is null
                ? Problems.Invalid("continuationToken", "continuationToken is not one this API handed out (pass back the previous page's value unchanged)")
                : Problems.Invalid("cursor", Paging.InvalidCursor);
        }
        var disabledReason = subscription.Enabled ? null : await deliveries.DisabledReasonAsync(tenant, subscriptionId, cancellationToken);
        var next = page.ContinuationToken is { } token ? new PageCursor(DateTimeOffset.UnixEpoch, token).Format() : null;
        var nextLink = next is null ? null : Paging.AnnounceNext(http, next);
        return TypedResults.Ok(new AttemptPageDto(subscriptionId, subscription.Enabled, disabledReason,
            [.. page.Attempts.Select(AttemptDto.From)], page.ContinuationToken, next, nextLink));
    }

    /// <summary>Latest first; from/to on the time the event was dead-lettered.</summary>
    private static async Task<IResult> ListDeadLettersAsync(string? subscriptionId, string? pendingOnly, string? from, string? to, string? cursor,
        string? limit, HttpContext http, SubscriptionStore subscriptions, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        Guid? subscription = null;
        if (subscriptionId is not null)
        {
            if (!Guid.TryParse(subscriptionId, out var parsed))
            {
                return Problems.Invalid("subscriptionId", $"subscriptionId must be a subscription id (a GUID), got '{TextRules.Shorten(subscriptionId)}'");
            }
            subscription = parsed;
        }
        if (QueryValues.Flag(pendingOnly, "pendingOnly", out var onlyPending) is { } badFlag)
        {
            return Problems.Invalid("pendingOnly", badFlag);
        }
        if ((Paging.CheckRange(from, to, cursor, limit, 100, MaxDeadLetters, out var page, out var rows) ?? Paging.CheckId<Guid>(page)) is { } badPage)
        {
            return badPage;
        }
        var deadLetters = await subscriptions.ListDeadLettersAsync(tenant, subscription, onlyPending, page, cancellationToken);
        return TypedResults.Ok(Paging.Build(http, [.. deadLetters.Select(DeadLetterDto.From)], rows, d => new PageCursor(d.DeadLetteredAt, d.Id.ToString())));
    }

    private static async Task<IResult> ReplayOneAsync(Guid deadLetterId, HttpContext http, WebhookDeliveryStore deliveries, AlertPublisher publisher,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Operator) is not { } tenant)
        {
            return Problems.Forbidden("Replaying dead letters takes an operator or admin key of the tenant they belong to.");
        }
        var replayed = await deliveries.ReplayDeadLettersAsync(tenant, [deadLetterId], null, cancellationToken);
        if (replayed.Count == 0)
        {
            return Problems.NotFound($"no dead letter {deadLetterId} waiting for replay in this tenant (unknown, or replayed already)");
        }
        await KickAsync(tenant, replayed, publisher, cancellationToken);
        return TypedResults.Ok(new ReplayResultDto(replayed.Count, [.. replayed.Select(DeadLetterDto.From)]));
    }

    private static async Task<IResult> ReplayManyAsync([FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] BulkReplayRequest? request,
        HttpContext http, WebhookDeliveryStore deliveries, AlertPublisher publisher, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Operator) is not { } tenant)
        {
            return Problems.Forbidden("Replaying dead letters takes an operator or admin key of the tenant they belong to.");
        }
        var replayed = await deliveries.ReplayDeadLettersAsync(tenant, null, request?.SubscriptionId, cancellationToken);
        await KickAsync(tenant, replayed, publisher, cancellationToken);
        return TypedResults.Ok(new ReplayResultDto(replayed.Count, [.. replayed.Select(DeadLetterDto.From)]));
    }

    /// <summary>One work message per subscription: its turn delivers the replayed ones in their order.</summary>
    private static async Task KickAsync(Guid tenant, IReadOnlyList<WebhookDeadLetter> replayed, AlertPublisher publisher, CancellationToken cancellationToken)
    {
        foreach (var subscription in replayed.Select(d => d.SubscriptionId).Distinct())
        {
            await publisher.KickAsync(tenant, subscription, cancellationToken);
        }
    }

    internal sealed record BulkReplayRequest(Guid? SubscriptionId);

    internal sealed record AttemptPageDto(Guid SubscriptionId, bool Enabled, string? DisabledReason, IReadOnlyList<AttemptDto> Attempts,
        string? ContinuationToken, string? Next, string? NextLink);

    internal sealed record AttemptDto(string EventId, int Attempt, string Channel, string Outcome, DateTimeOffset AttemptedAt, double LatencyMs,
        int? StatusCode, string? ResponseExcerpt, bool ResponseTruncated, string? Error, double? RetryAfterSeconds)
    {
        public static AttemptDto From(DeliveryAttempt a) => new(a.EventId, a.Attempt, a.Channel.ToString().ToLowerInvariant(),
            a.Result.Outcome.ToString().ToLowerInvariant(), a.Result.AttemptedAt, Math.Round(a.Result.Latency.TotalMilliseconds, 1), a.Result.StatusCode,
            a.Result.ResponseExcerpt, a.Result.ResponseTruncated, a.Result.Error, a.Result.RetryAfter?.TotalSeconds);
    }

    internal sealed record DeadLetterDto(Guid Id, Guid SubscriptionId, string EventId, int Attempts, string LastError, DateTimeOffset DeadLetteredAt,
        DateTimeOffset? ReplayedAt, JsonElement Payload)
    {
        public static DeadLetterDto From(WebhookDeadLetter d)
        {
            using var payload = JsonDocument.Parse(d.PayloadJson);
            return new(d.Id, d.SubscriptionId, d.EventId, d.Attempts, d.LastError, d.DeadLetteredAt, d.ReplayedAt, payload.RootElement.Clone());
        }
    }

    internal sealed record ReplayResultDto(int Replayed, IReadOnlyList<DeadLetterDto> DeadLetters);
}
