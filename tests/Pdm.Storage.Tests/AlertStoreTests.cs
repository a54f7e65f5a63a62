using Npgsql;
using static Pdm.Storage.Tests.PostgresFixture;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AlertStoreTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    // In jsonb's own text form, so the value read back is the same string.
    private const string Explanation = """{"summary": "score above threshold in 8 of 10 samples"}""";

    private AlertStore Alerts => fixture.Stores.Alerts;

    [Fact]
    public async Task A_rule_set_saves_with_the_revision_it_read_and_a_stale_revision_is_a_conflict()
    {
        var tenant = await fixture.NewTenantAsync("rules");
        Assert.Null(await Alerts.GetRuleSetAsync(tenant.Id, CancellationToken.None));

        var first = await Alerts.SaveRuleSetAsync(tenant.Id, """{"version":1,"rules":[]}""", 0, "admin-key", CancellationToken.None);
        var second = await Alerts.SaveRuleSetAsync(tenant.Id, """{"version":1,"rules":[],"overrides":[]}""", 1, "admin-key",
            CancellationToken.None);
        var stale = await Alerts.SaveRuleSetAsync(tenant.Id, """{"version":1,"rules":[{"id":"lost"}]}""", 1, "other-key",
            CancellationToken.None);
        var createAgain = await Alerts.SaveRuleSetAsync(tenant.Id, """{"version":1}""", 0, "other-key", CancellationToken.None);

        Assert.Equal(1, first.Saved!.Revision);
        Assert.Equal(2, second.Saved!.Revision);
        Assert.True(stale.IsConflict);
        Assert.Equal(2, stale.CurrentRevision);
        Assert.True(createAgain.IsConflict);
        var stored = await Alerts.GetRuleSetAsync(tenant.Id, CancellationToken.None);
        Assert.Equal(2, stored!.Revision);
        Assert.Contains("overrides", stored.DocumentJson, StringComparison.Ordinal);
        Assert.Equal("admin-key", stored.UpdatedBy);
    }

    [Fact]
    public async Task An_evaluation_reads_states_and_latest_alerts_and_writes_alerts_events_and_outbox_together()
    {
        var tenant = await fixture.NewTenantAsync("eval");
        var pump = AlertSubject.Machine("pump-1");
        var gateway = AlertSubject.Device("gw-1");
        var opened = NewAlert(pump, "anomaly", T0);
        var openedEvent = Event(opened, "alert.opened", T0);

        var first = await Alerts.EvaluateAsync(tenant.Id, [pump, gateway], (_, snapshot) =>
        {
            Assert.Null(snapshot.RuleSet);
            Assert.Empty(snapshot.States);
            Assert.Empty(snapshot.LatestAlerts);
            return new AlertWrite
            {
                States = [new AlertStateRow(pump, [1, 2, 3]), new AlertStateRow(gateway, [9])],
                Alerts = [opened],
                Events = [openedEvent],
                Outbox = [new OutboxMessage(openedEvent.Id, """{"id":"evt_1","type":"alert.opened"}""")],
            };
        }, CancellationToken.None);

        AlertSnapshot? seen = null;
        var escalated = opened with { Severity = "HIGH", Count = 2, LastSeenAt = T0.AddMinutes(1), Peak = 7.5 };
        await Alerts.EvaluateAsync(tenant.Id, [pump, gateway], (_, snapshot) =>
        {
            seen = snapshot;
            return new AlertWrite
            {
                States = [new AlertStateRow(pump, [4])],
                Alerts = [escalated],
                Events = [Event(escalated, "alert.escalated", T0.AddMinutes(1))],
            };
        }, CancellationToken.None);

        Assert.Equal(new AlertWriteResult(2, 1, 1, 1), first);
        Assert.Equal([1, 2, 3], seen!.States[pump]);
        Assert.Equal([9], seen.States[gateway]);
        var latest = Assert.Single(seen.LatestAlertsOf(pump));
        Assert.Equal(opened, latest with { Reopenings = opened.Reopenings });
        var detail = await Alerts.GetAlertAsync(tenant.Id, opened.Id, CancellationToken.None);
        Assert.Equal("HIGH", detail!.Alert.Severity);
        Assert.Equal(2, detail.Alert.Count);
        Assert.Equal(7.5, detail.Alert.Peak);
        Assert.Equal(["alert.opened", "alert.escalated"], detail.Events.Select(e => e.Type));
        var claimed = await ClaimAllAsync(tenant.Id);
        Assert.Equal(openedEvent.Id, Assert.Single(claimed).EventId);
    }

    [Fact]
    public async Task The_latest_alert_of_a_rule_includes_a_resolved_one_so_the_lifecycle_can_reopen_it()
    {
        var tenant = await fixture.NewTenantAsync("reopen");
        var pump = AlertSubject.Machine("pump-r");
        var old = NewAlert(pump, "vibration", T0) with { Status = "resolved", ResolvedBy = "system", ResolvedAt = T0.AddHours(1) };
        var recent = NewAlert(pump, "vibration", T0.AddHours(3)) with
        {
            Status = "resolved", ResolvedBy = "ops@example.com", ResolvedAt = T0.AddHours(4), ResolvedComment = "bearing replaced",
            Reopenings = [T0.AddHours(3.5)],
        };
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = [old, recent] });

        AlertSnapshot? seen = null;
        await Alerts.EvaluateAsync(tenant.Id, [pump], (_, s) => { seen = s; return AlertWrite.Nothing; }, CancellationToken.None);

        var latest = Assert.Single(seen!.LatestAlerts);
        Assert.Equal(recent.Id, latest.Id);
        Assert.Equal("bearing replaced", latest.ResolvedComment);
        Assert.Equal([T0.AddHours(3.5)], latest.Reopenings);
    }

    [Fact]
    public async Task A_second_unresolved_alert_for_the_same_subject_and_rule_is_refused_but_one_after_resolution_is_not()
    {
        var tenant = await fixture.NewTenantAsync("one-open");
        var pump = AlertSubject.Machine("pump-2");
        var first = NewAlert(pump, "anomaly", T0);
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = [first] });

        var duplicate = Assert.ThrowsAsync<PostgresException>(() =>
            WriteAsync(tenant.Id, new AlertWrite { Alerts = [NewAlert(pump, "anomaly", T0.AddMinutes(5)) with { Status = "acknowledged",
                AcknowledgedBy = "ops", AcknowledgedAt = T0.AddMinutes(6) }] }));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, (await duplicate).SqlState);
        Assert.Equal("alerts_one_unresolved_idx", (await duplicate).ConstraintName);

        // Another rule, or the same rule of another machine, is another alert.
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = [NewAlert(pump, "vibration", T0), NewAlert(AlertSubject.Machine("pump-3"), "anomaly", T0)] });
        // Resolving the first and opening a new one in the same write is allowed (updates go first).
        await WriteAsync(tenant.Id, new AlertWrite
        {
            Alerts = [NewAlert(pump, "anomaly", T0.AddHours(2)), first with { Status = "resolved", ResolvedBy = "system", ResolvedAt = T0.AddHours(1) }],
        });
        var page = await Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { Subject = pump, RuleId = "anomaly" }, CancellationToken.None);
        Assert.Equal(["open", "resolved"], page.Alerts.Select(a => a.Status));
    }

    [Fact]
    public async Task An_alert_id_cannot_move_to_another_subject_or_rule()
    {
        var tenant = await fixture.NewTenantAsync("moved");
        var alert = NewAlert(AlertSubject.Machine("pump-m"), "anomaly", T0);
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = [alert] });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            WriteAsync(tenant.Id, new AlertWrite { Alerts = [alert with { RuleId = "vibration" }] }));

        Assert.Contains("subject or rule", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_update_locks_the_alert_and_writes_its_event()
    {
        var tenant = await fixture.NewTenantAsync("ack");
        var alert = NewAlert(AlertSubject.Machine("pump-a"), "anomaly", T0);
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = [alert] });

        var found = await Alerts.UpdateAlertAsync(tenant.Id, alert.Id, current =>
        {
            var acknowledged = current with { Status = "acknowledged", AcknowledgedBy = "ops", AcknowledgedAt = T0.AddMinutes(2),
                AcknowledgedComment = "on it" };
            return new AlertWrite { Alerts = [acknowledged], Events = [Event(acknowledged, "alert.acknowledged", T0.AddMinutes(2), "ops")] };
        }, CancellationToken.None);
        var missing = await Alerts.UpdateAlertAsync(tenant.Id, Guid.CreateVersion7(), _ => throw new InvalidOperationException("not called"),
            CancellationToken.None);

        Assert.True(found);
        Assert.False(missing);
        var detail = await Alerts.GetAlertAsync(tenant.Id, alert.Id, CancellationToken.None);
        Assert.Equal(("acknowledged", "ops", "on it"), (detail!.Alert.Status, detail.Alert.AcknowledgedBy, detail.Alert.AcknowledgedComment));
        Assert.Equal("ops", Assert.Single(detail.Events).Actor);
    }

    [Fact]
    public async Task Listing_filters_by_status_severity_subject_and_time_and_pages_by_last_seen_then_id()
    {
        var tenant = await fixture.NewTenantAsync("list");
        var alerts = Enumerable.Range(0, 7).Select(i => NewAlert(AlertSubject.Machine($"m{i % 3}"), $"rule-{i}", T0) with
        {
            // Two share a last-seen time, so the id breaks the tie.
            LastSeenAt = T0.AddMinutes(i == 6 ? 5 : i),
            Severity = i % 2 == 0 ? "HIGH" : "LOW",
        }).ToList();
        alerts[1] = alerts[1] with { Status = "resolved", ResolvedBy = "system", ResolvedAt = T0.AddMinutes(9) };
        await WriteAsync(tenant.Id, new AlertWrite { Alerts = alerts });

        var pages = new List<IReadOnlyList<AlertRow>>();
        AlertCursor? cursor = null;
        do
        {
            var page = await Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { Limit = 3, After = cursor }, CancellationToken.None);
            pages.Add(page.Alerts);
            cursor = page.Next;
        }
        while (cursor is not null);

        var expected = alerts.OrderByDescending(a => a.LastSeenAt).ThenByDescending(a => a.Id).Select(a => a.Id);
        Assert.Equal(expected, pages.SelectMany(p => p).Select(a => a.Id));
        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));

        var openHigh = await Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { Statuses = ["open"], Severities = ["HIGH"] }, CancellationToken.None);
        Assert.Equal(["rule-6", "rule-4", "rule-2", "rule-0"], openHigh.Alerts.Select(a => a.RuleId));
        var ofM1 = await Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { Subject = AlertSubject.Machine("m1") }, CancellationToken.None);
        Assert.Equal(["rule-4", "rule-1"], ofM1.Alerts.Select(a => a.RuleId));
        var window = await Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { From = T0.AddMinutes(2), To = T0.AddMinutes(4) },
            CancellationToken.None);
        Assert.Equal(["rule-3", "rule-2"], window.Alerts.Select(a => a.RuleId));
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Alerts.ListAlertsAsync(tenant.Id, new AlertQuery { Limit = 0 }, CancellationToken.None));
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_concurrent_claims_never_get_the_same_outbox_row_and_published_rows_are_not_claimed_again()
    {
        var tenant = await fixture.NewTenantAsync("outbox");
        var alert = NewAlert(AlertSubject.Machine("pump-o"), "anomaly", T0);
        var events = Enumerable.Range(0, 20).Select(i => Event(alert, "alert.updated", T0.AddSeconds(i))).ToList();
        await WriteAsync(tenant.Id, new AlertWrite
        {
            Alerts = [alert],
            Events = events,
            Outbox = [.. events.Select((e, i) => new OutboxMessage(e.Id, $$"""{"n": {{i}}}"""))],
        });

        await using var first = await Alerts.ClaimOutboxAsync(8, tenant.Id, CancellationToken.None);
        await using var second = await Alerts.ClaimOutboxAsync(8, tenant.Id, CancellationToken.None);
        await using var third = await Alerts.ClaimOutboxAsync(8, tenant.Id, CancellationToken.None);

        Assert.Equal([8, 8, 4], new[] { first, second, third }.Select(c => c.Rows.Count));
        var claimed = first.Rows.Concat(second.Rows).Concat(third.Rows).Select(r => r.EventId).ToList();
        Assert.Equal(events.Select(e => e.Id).Order(), claimed.Order());
        // Oldest first, and the payload is the exact text that was written.
        Assert.Equal("""{"n": 0}""", first.Rows[0].PayloadJson);

        Assert.Equal(8, await first.CommitPublishedAsync([.. first.Rows.Select(r => r.EventId)], CancellationToken.None));
        Assert.Equal(7, await second.CommitPublishedAsync([.. second.Rows.Skip(1).Select(r => r.EventId)], CancellationToken.None));
        await third.DisposeAsync(); // crashed before publishing: its rows are released

        var again = await ClaimAllAsync(tenant.Id);
        Assert.Equal([second.Rows[0].EventId, .. third.Rows.Select(r => r.EventId)], again.Select(r => r.EventId));
        Assert.Equal(5, await Alerts.MarkOutboxPublishedAsync([.. again.Select(r => r.EventId)], CancellationToken.None));
        Assert.Equal(0, await Alerts.MarkOutboxPublishedAsync([.. again.Select(r => r.EventId)], CancellationToken.None));
        Assert.Empty(await ClaimAllAsync(tenant.Id));
    }

    [Fact]
    public async Task Ingest_evaluates_alerts_in_the_transaction_of_the_readings()
    {
        var tenant = await fixture.NewTenantAsync("ingest-alerts");
        var device = $"gw-{Guid.NewGuid():N}";
        await fixture.Stores.Devices.RegisterDeviceAsync(tenant.Id, device, CancellationToken.None);
        IReadOnlyCollection<AlertSubject>? subjects = null;

        var result = await fixture.Stores.Readings.WriteReadingsAsync(
            [new TenantBatch(tenant.Id, device, [Sample("press-1", T0, 1, ("temperature", 90))])], score: null,
            alert: (_, snapshot) =>
            {
                var alert = NewAlert(AlertSubject.Machine("press-1"), "limits", T0);
                var e = Event(alert, "alert.opened", T0);
                return new AlertWrite
                {
                    States = [new AlertStateRow(AlertSubject.Machine("press-1"), [7])],
                    Alerts = [alert],
                    Events = [e],
                    Outbox = [new OutboxMessage(e.Id, "{}")],
                };
            }, CancellationToken.None);
        await Alerts.EvaluateAsync(tenant.Id, [AlertSubject.Machine("press-1"), AlertSubject.Device(device)], (_, s) =>
        {
            subjects = [.. s.States.Keys];
            return AlertWrite.Nothing;
        }, CancellationToken.None);

        Assert.Equal(1, result.ValuesInserted);
        Assert.Equal(1, result.AlertEvents);
        Assert.Equal(AlertSubject.Machine("press-1"), Assert.Single(subjects!));
        Assert.Single(await ClaimAllAsync(tenant.Id));
    }

    [Fact]
    public async Task An_evaluation_that_fails_rolls_back_the_readings_with_it()
    {
        var tenant = await fixture.NewTenantAsync("ingest-rollback");
        var device = $"gw-{Guid.NewGuid():N}";
        await fixture.Stores.Devices.RegisterDeviceAsync(tenant.Id, device, CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.Stores.Readings.WriteReadingsAsync(
            [new TenantBatch(tenant.Id, device, [Sample("press-2", T0, 1, ("temperature", 90))])], score: null,
            alert: (_, _) => throw new InvalidOperationException("evaluation failed"), CancellationToken.None));

        Assert.Equal(0, await fixture.Stores.Readings.CountReadingsAsync(tenant.Id, CancellationToken.None));
    }

    internal static AlertRow NewAlert(AlertSubject subject, string ruleId, DateTimeOffset at) => new()
    {
        Id = Guid.CreateVersion7(at),
        Subject = subject,
        RuleId = ruleId,
        RuleKind = "anomaly_score",
        Severity = "MEDIUM",
        Status = "open",
        Flapping = false,
        Count = 1,
        OpenedAt = at,
        LastSeenAt = at,
        Value = 4.2,
        Peak = 4.2,
        LowerIsWorse = false,
        Firing = true,
        ExplanationJson = Explanation,
    };

    internal static AlertEventRow Event(AlertRow alert, string type, DateTimeOffset at, string? actor = null) =>
        new(Guid.CreateVersion7(at), alert.Id, type, at, actor, $$$"""{"type":"{{{type}}}","alert":{"id":"{{{alert.Id}}}"}}""");

    private Task<AlertWriteResult> WriteAsync(Guid tenantId, AlertWrite write) =>
        Alerts.EvaluateAsync(tenantId, [], (_, _) => write, CancellationToken.None);

    private async Task<IReadOnlyList<OutboxRow>> ClaimAllAsync(Guid tenantId)
    {
        await using var claim = await Alerts.ClaimOutboxAsync(1000, tenantId, CancellationToken.None);
        return claim.Rows;
    }
}
