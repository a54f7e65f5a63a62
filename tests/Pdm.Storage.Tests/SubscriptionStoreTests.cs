using Npgsql;
using static Pdm.Storage.Tests.AlertStoreTests;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class SubscriptionStoreTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private SubscriptionStore Subscriptions => fixture.Stores.Subscriptions;

    [Fact]
    public async Task Matching_honours_each_filter_and_an_empty_list_allows_everything()
    {
        var tenant = await fixture.NewTenantAsync("match");
        var everything = await CreateAsync(tenant.Id, "all", SubscriptionFilters.All);
        var critical = await CreateAsync(tenant.Id, "critical", new SubscriptionFilters { Severities = ["CRITICAL"] });
        var openedOfPumps = await CreateAsync(tenant.Id, "pumps",
            new SubscriptionFilters { EventTypes = ["alert.opened"], MachineKinds = ["CentrifugalPump"] });
        var oneMachine = await CreateAsync(tenant.Id, "m7", new SubscriptionFilters { Machines = ["EG_M007"], Severities = ["HIGH", "CRITICAL"] });
        var disabled = await Subscriptions.CreateAsync(tenant.Id, new WebhookSubscriptionSettings { Url = "https://example.com/off", Enabled = false },
            [1], CancellationToken.None);

        Assert.Equal([everything.Id, critical.Id, openedOfPumps.Id, oneMachine.Id],
            await MatchAsync(tenant.Id, new("alert.opened", "CRITICAL", "EG_M007", "CentrifugalPump")));
        Assert.Equal([everything.Id, oneMachine.Id], await MatchAsync(tenant.Id, new("alert.escalated", "HIGH", "EG_M007", "Fan")));
        Assert.Equal([everything.Id, openedOfPumps.Id], await MatchAsync(tenant.Id, new("alert.opened", "LOW", "EG_M001", "CentrifugalPump")));
        // A device alert has no machine: filters on machines or kinds do not match it.
        Assert.Equal([everything.Id, critical.Id], await MatchAsync(tenant.Id, new("alert.opened", "CRITICAL", null, null)));
        Assert.DoesNotContain(disabled.Id, await MatchAsync(tenant.Id, new("alert.opened", "LOW", null, null)));

        // The publisher matches a batch in one statement: the same answers, in the events' order.
        SubscriptionEvent[] batch = [new("alert.opened", "LOW", "EG_M001", "CentrifugalPump"), new("alert.resolved", "INFO", null, null),
            new("alert.escalated", "HIGH", "EG_M007", "Fan")];
        Assert.Equal([[everything.Id, openedOfPumps.Id], [everything.Id], [everything.Id, oneMachine.Id]],
            await Subscriptions.MatchAsync(tenant.Id, batch, CancellationToken.None));
    }

    [Fact]
    public async Task A_subscription_round_trips_updates_rotates_its_secret_and_deletes()
    {
        var tenant = await fixture.NewTenantAsync("crud");
        var created = await Subscriptions.CreateAsync(tenant.Id, new WebhookSubscriptionSettings
        {
            Url = "http://127.0.0.1:5005/hook", Description = "dev receiver", AllowLoopback = true,
            Filters = new SubscriptionFilters { Severities = ["HIGH"], EventTypes = ["alert.opened", "alert.resolved"] },
        }, [1, 2, 3], CancellationToken.None);

        var updated = await Subscriptions.UpdateAsync(tenant.Id, created.Id, new WebhookSubscriptionSettings { Url = "https://example.com/hook" },
            CancellationToken.None);
        var rotated = await Subscriptions.RotateSecretAsync(tenant.Id, created.Id, [4, 5], T0, CancellationToken.None);

        Assert.Equal(["alert.opened", "alert.resolved"], created.Filters.EventTypes);
        Assert.True(created.AllowLoopback);
        Assert.Equal("https://example.com/hook", updated!.Url);
        Assert.Empty(updated.Filters.Severities);
        Assert.False(updated.AllowLoopback);
        Assert.Equal([4, 5], rotated!.Secret);
        Assert.Equal([1, 2, 3], rotated.PreviousSecret);
        Assert.Equal(T0, rotated.PreviousSecretValidUntil);
        Assert.Equal(rotated, await Subscriptions.GetAsync(tenant.Id, created.Id, CancellationToken.None) is { } read
            ? read with { Secret = rotated.Secret, PreviousSecret = rotated.PreviousSecret, Filters = rotated.Filters } : null);
        Assert.True(await Subscriptions.DeleteAsync(tenant.Id, created.Id, CancellationToken.None));
        Assert.False(await Subscriptions.DeleteAsync(tenant.Id, created.Id, CancellationToken.None));
        Assert.Empty(await Subscriptions.ListAsync(tenant.Id, CancellationToken.None));
    }

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("not a url")]
    [InlineData("")]
    public async Task A_url_that_is_not_absolute_http_is_refused_naming_the_field(string url)
    {
        var tenant = await fixture.NewTenantAsync("bad-url");

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Subscriptions.CreateAsync(tenant.Id, new WebhookSubscriptionSettings { Url = url }, [1], CancellationToken.None));

        Assert.StartsWith("url:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letters_list_and_are_marked_replayed_once()
    {
        var tenant = await fixture.NewTenantAsync("dead");
        var subscription = await CreateAsync(tenant.Id, "down", SubscriptionFilters.All);
        var a = await Subscriptions.AddDeadLetterAsync(tenant.Id, subscription.Id, "evt_a", """{"id":"evt_a"}""", 12, "503 after 24 h",
            CancellationToken.None);
        var b = await Subscriptions.AddDeadLetterAsync(tenant.Id, subscription.Id, "evt_b", """{"id":"evt_b"}""", 12, "timeout",
            CancellationToken.None);

        var replayed = await Subscriptions.MarkReplayedAsync(tenant.Id, [a.Id, b.Id], CancellationToken.None);
        var again = await Subscriptions.MarkReplayedAsync(tenant.Id, [a.Id, b.Id], CancellationToken.None);
        var failedAgain = await Subscriptions.AddDeadLetterAsync(tenant.Id, subscription.Id, "evt_a", """{"id":"evt_a"}""", 12, "503 again",
            CancellationToken.None);

        Assert.Equal(2, replayed.Count);
        Assert.Equal("""{"id":"evt_a"}""", replayed.Single(d => d.EventId == "evt_a").PayloadJson);
        Assert.Empty(again);
        Assert.Equal((a.Id, 24, "503 again", (DateTimeOffset?)null), (failedAgain.Id, failedAgain.Attempts, failedAgain.LastError, failedAgain.ReplayedAt));
        var pending = await Subscriptions.ListDeadLettersAsync(tenant.Id, subscription.Id, pendingOnly: true, 100, CancellationToken.None);
        Assert.Equal("evt_a", Assert.Single(pending).EventId);
        Assert.Equal(2, (await Subscriptions.ListDeadLettersAsync(tenant.Id, null, pendingOnly: false, 100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Another_tenant_sees_none_of_the_alert_tables_and_cannot_change_them_through_the_stores()
    {
        var a = await fixture.NewTenantAsync("iso-a");
        var b = await fixture.NewTenantAsync("iso-b");
        var alert = NewAlert(AlertSubject.Machine("shared-id"), "anomaly", T0);
        var e = Event(alert, "alert.opened", T0);
        await fixture.Stores.Alerts.SaveRuleSetAsync(a.Id, """{"version":1}""", 0, "a", CancellationToken.None);
        await fixture.Stores.Alerts.EvaluateAsync(a.Id, [], (_, _) => new AlertWrite
        {
            States = [new AlertStateRow(alert.Subject, [1])], Alerts = [alert], Events = [e], Outbox = [new OutboxMessage(e.Id, "{}")],
        }, CancellationToken.None);
        var subscription = await CreateAsync(a.Id, "a", SubscriptionFilters.All);
        var dead = await Subscriptions.AddDeadLetterAsync(a.Id, subscription.Id, "evt_iso", "{}", 1, "x", CancellationToken.None);

        AlertSnapshot? seenByB = null;
        await fixture.Stores.Alerts.EvaluateAsync(b.Id, [alert.Subject], (_, s) => { seenByB = s; return AlertWrite.Nothing; },
            CancellationToken.None);
        Assert.Null(seenByB!.RuleSet);
        Assert.Empty(seenByB.States);
        Assert.Empty(seenByB.LatestAlerts);
        Assert.Null(await fixture.Stores.Alerts.GetAlertAsync(b.Id, alert.Id, CancellationToken.None));
        Assert.Empty((await fixture.Stores.Alerts.ListAlertsAsync(b.Id, new AlertQuery(), CancellationToken.None)).Alerts);
        Assert.False(await fixture.Stores.Alerts.UpdateAlertAsync(b.Id, alert.Id, _ => AlertWrite.Nothing, CancellationToken.None));
        await using (var claim = await fixture.Stores.Alerts.ClaimOutboxAsync(10, b.Id, CancellationToken.None))
        {
            Assert.Empty(claim.Rows);
        }
        Assert.Null(await Subscriptions.GetAsync(b.Id, subscription.Id, CancellationToken.None));
        Assert.Empty(await MatchAsync(b.Id, new("alert.opened", "HIGH", "shared-id", null)));
        Assert.Null(await Subscriptions.UpdateAsync(b.Id, subscription.Id, new WebhookSubscriptionSettings { Url = "https://evil.example" },
            CancellationToken.None));
        Assert.Null(await Subscriptions.RotateSecretAsync(b.Id, subscription.Id, [6], T0, CancellationToken.None));
        Assert.False(await Subscriptions.DeleteAsync(b.Id, subscription.Id, CancellationToken.None));
        Assert.Empty(await Subscriptions.MarkReplayedAsync(b.Id, [dead.Id], CancellationToken.None));
        Assert.Empty(await Subscriptions.ListDeadLettersAsync(b.Id, null, false, 10, CancellationToken.None));
        // Writing an alert id that tenant A owns, as tenant B, is refused by row-level security.
        var error = await Assert.ThrowsAsync<PostgresException>(() => fixture.Stores.Alerts.EvaluateAsync(b.Id, [], (_, _) =>
            new AlertWrite { Alerts = [alert with { Severity = "CRITICAL" }] }, CancellationToken.None));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.Equal("MEDIUM", (await fixture.Stores.Alerts.GetAlertAsync(a.Id, alert.Id, CancellationToken.None))!.Alert.Severity);
    }

    [Theory]
    [InlineData("pdm.alert_rule_sets")]
    [InlineData("pdm.alert_states")]
    [InlineData("pdm.alerts")]
    [InlineData("pdm.alert_events")]
    [InlineData("pdm.alert_outbox")]
    [InlineData("pdm.webhook_subscriptions")]
    [InlineData("pdm.webhook_dead_letters")]
    [InlineData("pdm.webhook_deliveries")]
    public async Task As_the_app_role_each_alert_table_shows_only_the_tenant_set_and_refuses_rows_of_another(string table)
    {
        var a = await fixture.NewTenantAsync("rls-alert-a");
        var b = await fixture.NewTenantAsync("rls-alert-b");
        await using var connection = new NpgsqlConnection(fixture.ConnectionStrings.AppConnectionString);
        await connection.OpenAsync();

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await SetTenantAsync(connection, transaction, b.Id);
            Assert.Equal(0L, await ScalarAsync(connection, transaction, $"SELECT count(*) FROM {table} WHERE tenant_id <> $1", b.Id));
        }
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await SetTenantAsync(connection, transaction, a.Id);
            // Every insert names tenant B while tenant A is set; the policy is checked before the row's other constraints.
            var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection, transaction,
                $"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, jsonb_build_object('tenant_id', $1::uuid))).* RETURNING 0::bigint",
                b.Id));
            Assert.True(error.SqlState == PostgresErrorCodes.InsufficientPrivilege, $"{table}: {error.SqlState} {error.MessageText}");
        }
        await using var noTenant = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        Assert.Equal(0L, (long)(await noTenant.ExecuteScalarAsync())!);
    }

    private async Task<WebhookSubscriptionRow> CreateAsync(Guid tenantId, string name, SubscriptionFilters filters) =>
        await Subscriptions.CreateAsync(tenantId, new WebhookSubscriptionSettings { Url = $"https://example.com/{name}", Filters = filters },
            [1, 2, 3], CancellationToken.None);

    private async Task<IReadOnlyList<Guid>> MatchAsync(Guid tenantId, SubscriptionEvent e) =>
        (await Subscriptions.MatchAsync(tenantId, [e], CancellationToken.None))[0];

    private static async Task SetTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId)
    {
        await using var command = new NpgsqlCommand("SELECT set_config('pdm.tenant_id', $1, true)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId.ToString() });
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Guid tenantId)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
