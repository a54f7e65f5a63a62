using Pdm.Notifications.Attempts;
using Pdm.Webhooks;

namespace Pdm.Notifications.Tests.Attempts;

[Collection(AttemptsAzuriteCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class DeliveryAttemptLogTests(AttemptsAzuriteFixture azurite)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    [Fact]
    public async Task A_subscriptions_attempts_come_back_newest_first_in_pages_that_follow_the_token()
    {
        var log = await NewLogAsync();
        // Appended out of order: the key, not the append order, sorts them.
        foreach (var minute in new[] { 3, 0, 6, 1, 5, 2, 4 })
        {
            await log.AppendAsync(Attempt("acme", "sub-1", $"evt_{minute}", 1, T0.AddMinutes(minute)), default);
        }

        var first = await log.ReadSubscriptionAsync("acme", "sub-1", 3, null, default);
        var second = await log.ReadSubscriptionAsync("acme", "sub-1", 3, first.ContinuationToken, default);
        var third = await log.ReadSubscriptionAsync("acme", "sub-1", 3, second.ContinuationToken, default);

        Assert.Equal(["evt_6", "evt_5", "evt_4"], first.Attempts.Select(a => a.EventId));
        Assert.Equal(["evt_3", "evt_2", "evt_1"], second.Attempts.Select(a => a.EventId));
        Assert.Equal(["evt_0"], third.Attempts.Select(a => a.EventId));
        Assert.NotNull(first.ContinuationToken);
        Assert.Null(third.ContinuationToken);
    }

    [Fact]
    public async Task Attempts_appended_together_are_all_kept_once_even_when_some_were_logged_before()
    {
        var log = await NewLogAsync();
        var attempts = Enumerable.Range(0, 60).Select(i => Attempt("acme", "sub-1", $"evt_{i:D2}", 1, T0.AddSeconds(i))).ToList();
        await log.AppendAsync(attempts[10], default);

        // 60 attempts are two entity-group transactions; the first finds attempt 10 there and goes one by one.
        await log.AppendAsync(attempts, default);
        await log.AppendAsync(attempts, default);

        var page = await log.ReadSubscriptionAsync("acme", "sub-1", 100, null, default);
        Assert.Equal(attempts.Select(a => a.EventId).Reverse(), page.Attempts.Select(a => a.EventId));
        await Assert.ThrowsAsync<ArgumentException>(() => log.AppendAsync([attempts[0], Attempt("acme", "sub-2", "evt_x", 1, T0)], default));
    }

    [Fact]
    public async Task Every_field_of_an_attempt_round_trips()
    {
        var log = await NewLogAsync();
        var result = new WebhookAttemptResult(WebhookAttemptOutcome.Failed, T0, TimeSpan.FromMilliseconds(1234.5), 503,
            "{\"error\":\"Überlast\"}", ResponseTruncated: true, "HTTP 503 Service Unavailable", TimeSpan.FromSeconds(120));
        var attempt = new DeliveryAttempt("acme", "sub-1", "evt_01959a1e", 4, DeliveryChannel.Webhook, result);

        await log.AppendAsync(attempt, default);

        Assert.Equal(attempt, Assert.Single((await log.ReadSubscriptionAsync("acme", "sub-1", 10, null, default)).Attempts));
        Assert.Equal(attempt, Assert.Single(await log.ReadEventAsync("acme", "sub-1", "evt_01959a1e", default)));
    }

    [Fact]
    public async Task One_events_attempts_come_back_by_number_without_an_event_whose_id_extends_it()
    {
        var log = await NewLogAsync();
        for (var n = 1; n <= 4; n++)
        {
            await log.AppendAsync(Attempt("acme", "sub-1", "evt_a", n, T0.AddMinutes(n * 10)), default);
            await log.AppendAsync(Attempt("acme", "sub-1", "evt_a_b", n, T0.AddMinutes((n * 10) + 1)), default);
        }
        var email = Attempt("acme", "sub-1", "evt_a", 5, T0.AddHours(2), DeliveryChannel.Email, WebhookAttemptOutcome.Delivered, 250);
        await log.AppendAsync(email, default);

        var attempts = await log.ReadEventAsync("acme", "sub-1", "evt_a", default);

        Assert.Equal([1, 2, 3, 4, 5], attempts.Select(a => a.Attempt));
        Assert.All(attempts, a => Assert.Equal("evt_a", a.EventId));
        Assert.Equal(email, attempts[^1]);
        Assert.Empty(await log.ReadEventAsync("acme", "sub-1", "evt", default));
    }

    [Fact]
    public async Task Tenants_and_subscriptions_see_only_their_own_attempts()
    {
        var log = await NewLogAsync();
        await log.AppendAsync(Attempt("acme", "sub-1", "evt_1", 1, T0), default);
        await log.AppendAsync(Attempt("acme", "sub-2", "evt_1", 1, T0), default);
        await log.AppendAsync(Attempt("other", "sub-1", "evt_1", 1, T0), default);
        await log.AppendAsync(Attempt("other", "sub-1", "evt_2", 1, T0.AddSeconds(1)), default);

        Assert.Equal([("acme", "sub-1")], await Owners(log, "acme", "sub-1"));
        Assert.Equal([("acme", "sub-2")], await Owners(log, "acme", "sub-2"));
        Assert.Equal([("other", "sub-1"), ("other", "sub-1")], await Owners(log, "other", "sub-1"));
        Assert.Equal("other", Assert.Single(await log.ReadEventAsync("other", "sub-1", "evt_1", default)).Tenant);
        Assert.Empty((await log.ReadSubscriptionAsync("nobody", "sub-1", 10, null, default)).Attempts);
    }

    [Theory]
    [InlineData("acme|sub-2", "sub-1", "tenant")]
    [InlineData("acme", "", "subscriptionId")]
    [InlineData("acme", "sub/1", "subscriptionId")]
    public async Task A_key_part_that_could_reach_another_partition_is_refused_by_name(string tenant, string subscription, string field)
    {
        var log = await NewLogAsync();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => log.ReadSubscriptionAsync(tenant, subscription, 10, null, default));

        Assert.Equal(field, error.ParamName);
        Assert.StartsWith($"Delivery attempt {field} '", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_large_excerpt_is_cut_to_what_a_table_property_holds_and_marked_truncated()
    {
        var log = await NewLogAsync();
        // A surrogate pair straddles the cut: it must not be split in two.
        var excerpt = new string('x', DeliveryAttemptLog.MaxTextChars - 1) + "😀" + new string('y', 200_000);
        var result = new WebhookAttemptResult(WebhookAttemptOutcome.Failed, T0, TimeSpan.FromSeconds(1), 500, excerpt,
            Error: new string('e', 100_000));

        await log.AppendAsync(new DeliveryAttempt("acme", "sub-1", "evt_big", 1, DeliveryChannel.Webhook, result), default);

        var stored = Assert.Single(await log.ReadEventAsync("acme", "sub-1", "evt_big", default)).Result;
        Assert.Equal(new string('x', DeliveryAttemptLog.MaxTextChars - 1), stored.ResponseExcerpt);
        Assert.True(stored.ResponseTruncated);
        Assert.Equal(DeliveryAttemptLog.MaxTextChars, stored.Error!.Length);
    }

    [Fact]
    public async Task Appending_the_same_attempt_again_keeps_one_row()
    {
        var log = await NewLogAsync();
        var attempt = Attempt("acme", "sub-1", "evt_1", 1, T0);

        await log.AppendAsync(attempt, default);
        await log.AppendAsync(attempt, default);

        Assert.Single((await log.ReadSubscriptionAsync("acme", "sub-1", 10, null, default)).Attempts);
        Assert.Single(await log.ReadEventAsync("acme", "sub-1", "evt_1", default));
    }

    [Fact]
    public async Task Bad_page_sizes_tokens_and_attempt_numbers_are_refused_with_the_reason()
    {
        var log = await NewLogAsync();

        var size = await Assert.ThrowsAsync<ArgumentException>(() => log.ReadSubscriptionAsync("acme", "sub-1", 0, null, default));
        var token = await Assert.ThrowsAsync<ArgumentException>(() => log.ReadSubscriptionAsync("acme", "sub-1", 10, "not base64url!", default));
        var number = await Assert.ThrowsAsync<ArgumentException>(() => log.AppendAsync(Attempt("acme", "sub-1", "evt_1", 0, T0), default));

        Assert.StartsWith("Page size 0 must be 1 to 1000.", size.Message, StringComparison.Ordinal);
        Assert.StartsWith("Continuation token is not one this log handed out.", token.Message, StringComparison.Ordinal);
        Assert.StartsWith("Delivery attempt number 0 must be 1 to 9999.", number.Message, StringComparison.Ordinal);
    }

    private async Task<DeliveryAttemptLog> NewLogAsync()
    {
        var log = new DeliveryAttemptLog(azurite.Clients.Tables.GetTableClient($"attempts{Guid.NewGuid():N}"));
        await log.CreateTableIfNotExistsAsync(default);
        return log;
    }

    private static async Task<List<(string, string)>> Owners(DeliveryAttemptLog log, string tenant, string subscription) =>
        [.. (await log.ReadSubscriptionAsync(tenant, subscription, 100, null, default)).Attempts.Select(a => (a.Tenant, a.SubscriptionId))];

    private static DeliveryAttempt Attempt(string tenant, string subscription, string eventId, int number, DateTimeOffset at,
        DeliveryChannel channel = DeliveryChannel.Webhook, WebhookAttemptOutcome outcome = WebhookAttemptOutcome.Failed, int status = 503) =>
        new(tenant, subscription, eventId, number, channel,
            new WebhookAttemptResult(outcome, at, TimeSpan.FromMilliseconds(40 + number), status, $"answer {number}"));
}
