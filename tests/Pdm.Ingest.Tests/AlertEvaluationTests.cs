using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Analytics.Health;
using Pdm.Ingest.Scoring;
using Pdm.Simulator;
using Pdm.Simulator.Twin;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Ingest.Tests;

/// <summary>
/// Alert rules evaluated where the data is, against real PostgreSQL: ingest (samples with their scores, per-device
/// message counts), Predict and the clock, each writing alerts, events, audit rows and outbox rows in the transaction
/// of what caused them.
/// </summary>
[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AlertEvaluationTests(RegistryFixture fixture) : IDisposable
{
    private const string Operator = "oncall@plant-2";

    // A rule that fires on the first sample: the simplest way to open an alert on a machine's first evaluation.
    private const string HotRules = """
        {
          "version": 1,
          "rules": [
            { "id": "hot", "kind": "sensor_limits", "severity": "HIGH", "sensor": "temperature", "high": 50 }
          ],
          "overrides": []
        }
        """;

    private static readonly DateTimeOffset Recent = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddHours(-6);

    private readonly IngestMetrics _metrics = new(TimeProvider.System);
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];

    public void Dispose() => _metrics.Dispose();

    private static AlertEvaluations Evaluations(AlertPolicy? policy = null) =>
        new(policy ?? new AlertPolicy(), NullLogger<AlertEvaluations>.Instance);

    [Fact]
    public async Task A_degrading_twin_pump_through_ingest_raises_one_alert_per_problem_which_escalates_is_acknowledged_and_resolves_after_replacement()
    {
        var tenant = await NewTenantAsync();
        var device = await NewDeviceAsync(tenant);
        var evaluations = Evaluations(new AlertPolicy { QuietPeriod = TimeSpan.FromMinutes(2), ConditionQuietPeriod = TimeSpan.FromMinutes(2), FlappingWindow = TimeSpan.FromMinutes(10) });
        // A new machine without a registry model, warming up on its first minutes (the pump breaks after 20 minutes).
        var processor = Processor(evaluations, new AnomalyWarmupOptions { Samples = 240, MinimumSpan = TimeSpan.FromMinutes(4) });
        var profile = FleetDefinition.Pump(1);
        var pump = new MaintainedMachine(profile, seed: 4242, new TwinOptions { Mode = TwinMode.Accelerated },
            repairTime: TimeSpan.FromSeconds(30));
        DateTimeOffset? brokeAt = null;
        DateTimeOffset? replacedAt = null;
        Guid? acknowledged = null;
        long outboxRows = 0;
        var now = Recent;
        var minute = new List<MachineSample>(60);
        for (var second = 0; second < 4 * 3600; second++)
        {
            now = Recent.AddSeconds(second);
            var step = pump.Step(now);
            brokeAt ??= step.Truth.State == MachineState.Broken ? now : null;
            replacedAt ??= pump.Replacements == 1 ? now : null;
            minute.Add(new MachineSample { MachineId = profile.MachineId, Timestamp = now, Sequence = second, Values = step.Values });
            if (minute.Count < 60)
            {
                continue;
            }
            var outcome = await processor.ProcessAsync([Event(device, minute, now, second)], CancellationToken.None);
            Assert.Null(outcome.DeadLetter ?? outcome.Quarantined);
            outboxRows += outcome.AlertOutbox;
            minute.Clear();
            // The clock ticks every minute of machine time (the AlertTick timer does this with the wall clock).
            await fixture.AppDatabase.Alerts.EvaluateWatchedAsync(tenant, evaluations.ForTick(now.AddSeconds(1)), CancellationToken.None);
            if (acknowledged is null && await OpenAlertAsync(tenant, profile.MachineId, "vibration") is { } vibration)
            {
                // The technician on call takes the vibration alert.
                Assert.True(await fixture.AppDatabase.Alerts.UpdateAlertAsync(tenant, vibration.Id, row =>
                {
                    var (write, refused) = AlertRecords.Change(tenant, row, a => new AlertLifecycle(evaluations.Policy).Acknowledge(a, Operator, now, "on my way"));
                    Assert.Null(refused);
                    return write;
                }, CancellationToken.None));
                acknowledged = vibration.Id;
            }
            if (replacedAt is { } r && now - r > TimeSpan.FromMinutes(3))
            {
                break;
            }
        }
        // The AlertTick timer, past the quiet period after the new pump runs.
        var tick = await new AlertTicker(fixture.AppDatabase.Tenants, fixture.AppDatabase.Alerts, evaluations,
            new FixedClock(now.AddMinutes(1)), NullLogger<AlertTicker>.Instance).RunAsync(CancellationToken.None);

        Assert.NotNull(brokeAt);
        Assert.NotNull(replacedAt);
        Assert.NotNull(acknowledged);
        Assert.Equal(0, tick.Failed);
        var page = await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery { Limit = 100 }, CancellationToken.None);
        var details = new List<AlertDetail>();
        foreach (var alert in page.Alerts)
        {
            details.Add((await fixture.AppDatabase.Alerts.GetAlertAsync(tenant, alert.Id, CancellationToken.None))!);
        }
        var timeline = string.Join("\n", details.SelectMany(d => d.Events).OrderBy(e => e.At)
            .Select(e => $"{(e.At - Recent).TotalSeconds,6} {details.First(d => d.Alert.Id == e.AlertId).Alert.RuleId} {e.Type} {e.Actor}"));
        var info = $"broke {(brokeAt - Recent)!.Value.TotalSeconds}, replaced {(replacedAt - Recent)!.Value.TotalSeconds}\n{timeline}";
        // One alert per problem: no rule has two, and the pump's vibration is one. (The score of a machine still warming
        // up crosses its threshold only as the pump breaks, for fewer samples than the default anomaly window asks.)
        Assert.True(page.Alerts.Select(a => a.RuleId).Distinct().Count() == page.Alerts.Count, info);
        Assert.Contains("vibration", page.Alerts.Select(a => a.RuleId));
        Assert.All(page.Alerts, a => Assert.Contains(a.RuleId, new[] { "vibration", "anomaly" }));
        foreach (var detail in details)
        {
            var opened = Assert.Single(detail.Events, e => e.Type == "alert.opened");
            Assert.DoesNotContain(detail.Events, e => e.Type == "alert.reopened");
            var resolved = Assert.Single(detail.Events, e => e.Type == "alert.resolved");
            Assert.True(resolved.At > replacedAt, info);
            Assert.Equal(AlertLifecycle.System, resolved.Actor);
            Assert.Equal("resolved", detail.Alert.Status);
        }
        // Vibration warns before the failure; the score of a machine still warming up crosses its threshold only when
        // the pump breaks (with a fleet model the anomaly rule warns earlier too: tests/Pdm.Alerts.Tests/TwinAlertTests.cs).
        var vibrationAlert = details.Single(d => d.Alert.RuleId == "vibration");
        Assert.True(vibrationAlert.Alert.OpenedAt < brokeAt, info);
        Assert.Equal(acknowledged, vibrationAlert.Alert.Id);
        Assert.Equal("CRITICAL", vibrationAlert.Alert.Severity);
        Assert.Single(vibrationAlert.Events, e => e.Type == "alert.escalated");
        var ack = Assert.Single(vibrationAlert.Events, e => e.Type == "alert.acknowledged");
        Assert.Equal(Operator, ack.Actor);
        Assert.Equal(Operator, vibrationAlert.Alert.AcknowledgedBy);
        Assert.Contains("zone", vibrationAlert.Events.Single(e => e.Type == "alert.escalated").PayloadJson, StringComparison.Ordinal);

        // Outbox rows exist exactly for the notifying events, and every event is in the audit log with its actor.
        var events = details.SelectMany(d => d.Events).ToList();
        var notifying = events.Where(e => AlertEvent.IsNotifying(Parse(e.Type))).Select(e => e.Id).Order().ToList();
        var outbox = await OutboxAsync(tenant);
        Assert.Equal(notifying, outbox.Select(o => o.EventId).Order().ToList());
        Assert.All(outbox, o => Assert.Contains($"\"id\":\"{AlertRecords.WebhookId(o.EventId)}\"", o.Payload, StringComparison.Ordinal));
        // The ticker runs for every tenant in the database (other tests' too), so only ingest's count is this tenant's.
        Assert.True(outboxRows > 0 && outboxRows <= outbox.Count, $"ingest said {outboxRows} outbox rows, stored {outbox.Count}");
        var audit = await AuditAsync(tenant);
        Assert.Equal(events.Count, audit.Count);
        Assert.Contains(audit, a => a is { Action: "alert.opened", Actor: AlertStore.RulesActor });
        Assert.Contains(audit, a => a.Action == "alert.acknowledged" && a.Actor == Operator && a.Target == $"alert/{acknowledged}");
        Assert.Contains(audit, a => a is { Action: "alert.resolved", Actor: AlertLifecycle.System });
    }

    [Fact]
    public async Task An_ingest_transaction_that_fails_leaves_no_alert_event_or_outbox_row_and_one_that_commits_leaves_exactly_the_notifying_ones()
    {
        var tenant = await NewTenantAsync();
        var other = await NewTenantAsync();
        await SaveRulesAsync(tenant, HotRules);
        var evaluations = Evaluations();
        TenantBatch[] batches =
        [
            new(tenant, "gw-1", Samples("oven-1", Recent, 3, temperature: 80)),
            new(other, "gw-2", Samples("oven-2", Recent, 3, temperature: 20)),
        ];
        var alerter = evaluations.ForSamples(batches, _ => [], new Dictionary<(Guid, string), Pdm.Alerts.Evaluation.MessageCounts>());
        // The first tenant's alert is written, then the transaction fails on the second tenant.
        TenantAlerter failing = (id, snapshot) => id == other ? throw new InvalidOperationException("the second tenant fails") : alerter(id, snapshot);

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            fixture.AppDatabase.Readings.WriteReadingsAsync(batches, null, failing, CancellationToken.None));

        Assert.Empty((await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery(), CancellationToken.None)).Alerts);
        Assert.Empty(await OutboxAsync(tenant));
        Assert.Empty(await AuditAsync(tenant));

        var written = await fixture.AppDatabase.Readings.WriteReadingsAsync(batches, null, alerter, CancellationToken.None);

        Assert.Equal(1, written.AlertOutbox);
        var alert = Assert.Single((await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery(), CancellationToken.None)).Alerts);
        var detail = await fixture.AppDatabase.Alerts.GetAlertAsync(tenant, alert.Id, CancellationToken.None);
        var opened = Assert.Single(detail!.Events);
        Assert.Equal("alert.opened", opened.Type);
        Assert.Equal(opened.Id, Assert.Single(await OutboxAsync(tenant)).EventId);
        Assert.Equal((AlertStore.RulesActor, "alert.opened", $"alert/{alert.Id}"), Assert.Single(await AuditAsync(tenant)));
    }

    [Fact]
    public async Task Two_concurrent_first_evaluations_of_a_machine_open_one_alert()
    {
        var tenant = await NewTenantAsync();
        await SaveRulesAsync(tenant, HotRules);
        var evaluations = Evaluations();
        for (var round = 0; round < 3; round++)
        {
            var machine = $"oven-{round}";
            TenantBatch[] first = [new(tenant, "gw-1", Samples(machine, Recent, 2, temperature: 70))];
            TenantBatch[] second = [new(tenant, "gw-2", Samples(machine, Recent.AddSeconds(10), 2, temperature: 90))];
            var counts = new Dictionary<(Guid, string), Pdm.Alerts.Evaluation.MessageCounts>();

            // Another transaction registers the machine and holds it, so both writes wait at the same point and then
            // evaluate at once, both without a state row.
            await using var owner = new NpgsqlConnection(fixture.OwnerConnectionString);
            await owner.OpenAsync();
            await using var holding = await owner.BeginTransactionAsync();
            await using (var register = new NpgsqlCommand(
                "INSERT INTO pdm.machines (tenant_id, machine_id, first_seen_by_device) VALUES ($1, $2, 'gw-1')", owner, holding))
            {
                register.Parameters.Add(new NpgsqlParameter { Value = tenant });
                register.Parameters.Add(new NpgsqlParameter { Value = machine });
                await register.ExecuteNonQueryAsync();
            }
            var writes = new[]
            {
                Task.Run(() => fixture.AppDatabase.Readings.WriteReadingsAsync(first, null, evaluations.ForSamples(first, _ => [], counts), CancellationToken.None)),
                Task.Run(() => fixture.AppDatabase.Readings.WriteReadingsAsync(second, null, evaluations.ForSamples(second, _ => [], counts), CancellationToken.None)),
            };
            await WaitForLockWaitersAsync(2);
            await holding.CommitAsync();
            var results = await Task.WhenAll(writes);

            var alerts = (await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant,
                new AlertQuery { Subject = AlertSubject.Machine(machine) }, CancellationToken.None)).Alerts;
            // One opened it; the other waited for its state row, saw the rule firing and the alert open, and updated it.
            var alert = Assert.Single(alerts);
            Assert.Equal((1, 91.0), (alert.Count, alert.Peak));
            Assert.Equal(1, results.Sum(r => r.AlertOutbox));
        }
    }

    [Fact]
    public async Task The_clock_raises_a_device_offline_alert_and_a_machine_silent_alert_and_holds_back_silence_behind_an_offline_device()
    {
        var tenant = await NewTenantAsync();
        var quiet = await NewDeviceAsync(tenant);
        var busy = await NewDeviceAsync(tenant);
        var evaluations = Evaluations(new AlertPolicy { QuietPeriod = TimeSpan.FromMinutes(5) });
        var processor = Processor(evaluations);
        var t0 = Recent;
        // The quiet gateway sends its press once; the busy one sends a mill and a lathe, then only the mill.
        await processor.ProcessAsync([Event(quiet, Samples("press-1", t0, 5), t0.AddSeconds(4), 1)], CancellationToken.None);
        await processor.ProcessAsync([Event(busy, [.. Samples("mill-1", t0, 5), .. Samples("lathe-1", t0, 5)], t0.AddSeconds(4), 2)], CancellationToken.None);
        for (var m = 1; m <= 20; m++)
        {
            var at = t0.AddMinutes(m);
            await processor.ProcessAsync([Event(busy, Samples("mill-1", at, 1), at, 100 + m)], CancellationToken.None);
        }

        var tick = await fixture.AppDatabase.Alerts.EvaluateWatchedAsync(tenant, evaluations.ForTick(t0.AddMinutes(20).AddSeconds(30)),
            CancellationToken.None);

        var alerts = (await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery(), CancellationToken.None)).Alerts;
        Assert.Equal(2, tick.Outbox);
        Assert.Equal([("device", quiet, "offline", "HIGH"), ("machine", "lathe-1", "silent", "MEDIUM")],
            alerts.Select(a => (a.Subject.Kind == AlertSubjectKind.Device ? "device" : "machine", a.Subject.Id, a.RuleId, a.Severity))
                .OrderBy(a => a.Item1, StringComparer.Ordinal).ToList());
        // press-1 is silent as long as lathe-1, but its gateway's offline alert already says why.
        Assert.DoesNotContain(alerts, a => a.Subject.Id == "press-1");
        var offline = alerts.Single(a => a.RuleId == "offline");
        Assert.Contains("no message from the device", offline.ExplanationJson, StringComparison.Ordinal);

        // The gateway comes back: the offline rule clears, and after the quiet period the clock resolves the alert.
        var back = t0.AddMinutes(21);
        await processor.ProcessAsync([Event(quiet, Samples("press-1", back, 1), back, 200)], CancellationToken.None);
        await fixture.AppDatabase.Alerts.EvaluateWatchedAsync(tenant, evaluations.ForTick(back.AddMinutes(6)), CancellationToken.None);
        var resolved = await fixture.AppDatabase.Alerts.GetAlertAsync(tenant, offline.Id, CancellationToken.None);
        Assert.Equal("resolved", resolved!.Alert.Status);
        Assert.Equal(AlertLifecycle.System, resolved.Alert.ResolvedBy);
    }

    [Fact]
    public async Task A_device_whose_messages_are_all_rejected_raises_a_rejected_messages_alert()
    {
        var tenant = await NewTenantAsync();
        var device = await NewDeviceAsync(tenant);
        var processor = Processor(Evaluations());
        var events = Enumerable.Range(0, 12).Select(i => new IncomingEvent
        {
            Body = "{\"not\":\"telemetry\"}", DeviceId = device, EnqueuedTime = Recent.AddSeconds(i), MessageId = $"bad-{i}",
        }).ToList();

        var outcome = await processor.ProcessAsync(events, CancellationToken.None);

        Assert.Equal(12, outcome.RejectedMessages);
        Assert.Equal(1, outcome.AlertOutbox);
        var alert = Assert.Single((await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery(), CancellationToken.None)).Alerts);
        Assert.Equal((AlertSubject.Device(device), "rejected"), (alert.Subject, alert.RuleId));
    }

    [Fact]
    public async Task A_prediction_of_a_faulty_machine_opens_health_and_failure_alerts_in_the_transaction_that_stores_it()
    {
        var tenant = await NewTenantAsync();
        var evaluations = Evaluations();
        var at = Recent;
        var prediction = new MachinePrediction
        {
            Health = "FAULTY",
            HealthProbabilities = new Dictionary<string, double> { ["FAULTY"] = 0.9 },
            RulSeconds = 10 * 3600,
            RulP10Seconds = 5 * 3600,
            FailureProbability24h = 0.97,
            FailureProbability48h = 0.99,
            Risk = RiskLevel.Critical,
            Explanation = new PredictionExplanation
            {
                Risk = "failure within 24 h above 0.9", HealthSource = "state-model", Anomalies = AnomalyPicture.None, Samples = 500,
            },
        };
        var row = new PredictionRow
        {
            MachineId = "pump-9", At = at, Health = "FAULTY", HealthProbabilities = EmptyJson,
            FailureProbability24h = 0.97, Risk = "CRITICAL", Explanation = EmptyJson, Models = "",
        };

        var first = await fixture.AppDatabase.Predictions.WritePredictionsAsync(tenant, [row],
            evaluations.ForPredictions([new PredictedMachine("pump-9", prediction, at)]), CancellationToken.None);
        var again = await fixture.AppDatabase.Predictions.WritePredictionsAsync(tenant, [row],
            evaluations.ForPredictions([new PredictedMachine("pump-9", prediction, at)]), CancellationToken.None);

        Assert.Equal((1, 2), (first.Stored, first.Alerts.Outbox));
        Assert.Equal((0, 0, 0), (again.Stored, again.Alerts.Events, again.Alerts.Outbox));
        var alerts = (await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery(), CancellationToken.None)).Alerts;
        Assert.Equal([("failure-24h", "CRITICAL"), ("health", "HIGH")], alerts.Select(a => (a.RuleId, a.Severity)).Order().ToList());
        Assert.All(alerts, a => Assert.Contains("\"prediction\"", a.ExplanationJson, StringComparison.Ordinal));
        Assert.Equal(2, (await OutboxAsync(tenant)).Count);
    }

    [Fact]
    public void Log_event_ids_of_the_alerts_library_are_unique_and_in_its_range() =>
        LogEventIds.AssertUniqueWithin(typeof(AlertEvaluations).Assembly, 10000, 10099);

    // ---- helpers ----

    private static System.Text.Json.JsonElement EmptyJson => System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, double>());

    private IngestProcessor Processor(AlertEvaluations evaluations, AnomalyWarmupOptions? warmup = null) =>
        new(fixture.AppDatabase.Readings, fixture.AppDatabase.Rejects, fixture.AppDatabase.Devices,
            new BlobDeadLetterStore(Container("dl")), new BlobRejectedPayloadStore(Container("rj")),
            new AnomalyScoring(fixture.AppDatabase.Scores, null, warmup ?? new AnomalyWarmupOptions(), NullLogger<AnomalyScoring>.Instance),
            new IngestOptions { RetryDelays = [] }, _metrics, NullLogger<IngestProcessor>.Instance, TimeProvider.System, evaluations);

    private BlobContainerClient Container(string prefix) =>
        fixture.Storage.Blobs.GetBlobContainerClient($"{prefix}-{_run}-{Guid.NewGuid():N}"[..40]);

    private async Task<Guid> NewTenantAsync() =>
        (await fixture.OwnerDatabase.Tenants.CreateTenantAsync($"t-{Guid.NewGuid():N}", CancellationToken.None)).Id;

    private async Task<string> NewDeviceAsync(Guid tenant) =>
        (await fixture.AppDatabase.Devices.RegisterDeviceAsync(tenant, $"dev-{Guid.NewGuid():N}"[..20], CancellationToken.None)).DeviceId;

    private async Task SaveRulesAsync(Guid tenant, string json) =>
        Assert.False((await fixture.AppDatabase.Alerts.SaveRuleSetAsync(tenant, json, 0, "test", CancellationToken.None)).IsConflict);

    private static IncomingEvent Event(string device, IReadOnlyList<MachineSample> samples, DateTimeOffset enqueued, int id) => new()
    {
        Body = Encoding.UTF8.GetString(TelemetryEncoder.Encode(samples)), DeviceId = device, EnqueuedTime = enqueued,
        MessageId = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static List<MachineSample> Samples(string machine, DateTimeOffset start, int count, double temperature = 40) =>
    [
        .. Enumerable.Range(0, count).Select(i => new MachineSample
        {
            MachineId = machine, Timestamp = start.AddSeconds(i), Sequence = start.ToUnixTimeSeconds() + i,
            Values = [new SensorValue("temperature", temperature + (i % 3)), new SensorValue("current", 12 + (i % 2))],
        }),
    ];

    private static AlertEventType Parse(string type) => Enum.GetValues<AlertEventType>().Single(t => AlertRecords.Text(t) == type);

    private async Task<AlertRow?> OpenAlertAsync(Guid tenant, string machine, string rule)
    {
        var open = (await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery
        {
            Subject = AlertSubject.Machine(machine), RuleId = rule, Statuses = ["open"],
        }, CancellationToken.None)).Alerts;
        return open.Count > 0 ? open[0] : null;
    }

    private async Task<List<(Guid EventId, string Payload)>> OutboxAsync(Guid tenant) =>
        await OwnerQueryAsync("SELECT event_id, payload::text FROM pdm.alert_outbox WHERE tenant_id = $1", tenant,
            r => (r.GetGuid(0), r.GetString(1)));

    private async Task<List<(string Actor, string Action, string Target)>> AuditAsync(Guid tenant) =>
        await OwnerQueryAsync("SELECT actor, action, target FROM pdm.audit_log WHERE tenant_id = $1 AND action LIKE 'alert.%'", tenant,
            r => (r.GetString(0), r.GetString(1), r.GetString(2)));

    private async Task<List<T>> OwnerQueryAsync<T>(string sql, Guid tenant, Func<NpgsqlDataReader, T> map)
    {
        await using var connection = new NpgsqlConnection(fixture.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    private async Task WaitForLockWaitersAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var connection = new NpgsqlConnection(fixture.OwnerConnectionString);
        await connection.OpenAsync(timeout.Token);
        while (true)
        {
            await using var command = new NpgsqlCommand(
                """
                SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE NOT l.granted AND a.datname = current_database()
                """, connection);
            if ((long)(await command.ExecuteScalarAsync(timeout.Token))! >= count)
            {
                return;
            }
            await Task.Delay(20, timeout.Token);
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
