using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Ingest.Scoring;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Ingest.Tests;

/// <summary>
/// A message's content is never an outage: against real PostgreSQL and Azurite, poison messages become rejects while
/// the rest of their batch is stored, only transient failures park a batch, and a parked batch that fails for its own
/// content is quarantined instead of stopping the replay.
/// </summary>
[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class IngestProcessorTests(RegistryFixture fixture) : IDisposable
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddMinutes(-10);
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];
    private readonly IngestMetrics _metrics = new(TimeProvider.System);

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task Nul_invalid_utf8_huge_and_constraint_violating_messages_become_rejects_and_the_rest_of_the_batch_is_stored()
    {
        var tenant = await NewTenantAsync();
        var device = await NewDeviceAsync(tenant);
        var (deadLetters, payloads) = (NewDeadLetters(), NewPayloadContainer());
        var processor = Processor(fixture.AppDatabase, new BlobDeadLetterStore(deadLetters), payloads);
        var poisonMachine = $"POISON-{_run}";
        // A value the database refuses: no contract rule forbids it, so it reaches the database write.
        await OwnerSqlAsync($"ALTER TABLE pdm.readings ADD CONSTRAINT readings_no_poison_{_run} CHECK (machine_id NOT LIKE 'POISON-{_run}%')");
        try
        {
            byte[] invalidUtf8 = [.. Encoding.UTF8.GetBytes("{\"v\":1,\"machineId\":\"M"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\"}")];
            var huge = "{\"pad\":\"" + new string('x', 300_000) + "\"}";
            IncomingEvent[] events =
            [
                Event(device, Message("GOOD_1", 0, 2), 1),
                Event(device, "{\"temperature\":1}\0garbage", 2),
                new IncomingEvent { Body = Encoding.UTF8.GetString(invalidUtf8), RawBody = invalidUtf8, DeviceId = device, EnqueuedTime = Start, MessageId = "3" },
                Event(device, Encoding.UTF8.GetString(invalidUtf8), 4),
                Event(device, huge, 5),
                Event(device, Message(poisonMachine, 0, 1), 6),
                Event(device, Message("GOOD_1", 2, 2), 7),
            ];

            var outcome = await processor.ProcessAsync(events, CancellationToken.None);

            Assert.Null(outcome.DeadLetter);
            Assert.Null(outcome.Quarantined);
            Assert.Equal(5, outcome.RejectedMessages);
            Assert.Equal(4 * 2, await CountReadingsAsync(tenant, "GOOD_1"));
            Assert.Equal(0, await CountReadingsAsync(tenant, poisonMachine));
            var rejects = await fixture.AppDatabase.Rejects.ListRejectsAsync(tenant, null, 100, CancellationToken.None);
            Assert.Equal(5, rejects.Count);

            var nul = Single(rejects, "NUL character at character 17");
            Assert.Equal("{\"temperature\":1}\\u0000garbage", nul.Payload);
            Assert.Equal(Encoding.UTF8.GetBytes("{\"temperature\":1}\0garbage"), await BlobAsync(payloads, nul));

            var binary = Single(rejects, "not valid UTF-8 (invalid byte sequence at byte 21)");
            Assert.Equal(invalidUtf8, await BlobAsync(payloads, binary));

            var replaced = Single(rejects, "replaced an invalid byte sequence with U+FFFD at character 21");
            Assert.Null(replaced.PayloadBlob);

            var tooLarge = Single(rejects, "more than the 262144 accepted");
            Assert.Contains("truncated", tooLarge.Payload, StringComparison.Ordinal);
            Assert.True(tooLarge.Payload.Length < 70_000);
            Assert.Equal(Encoding.UTF8.GetBytes(huge), await BlobAsync(payloads, tooLarge));

            var refused = Single(rejects, "the database refused it");
            Assert.Contains("SQLSTATE 23514", refused.Errors[0].Reason, StringComparison.Ordinal);
            Assert.Contains(poisonMachine, refused.Payload, StringComparison.Ordinal);
            Assert.Null(refused.PayloadBlob);

            // Nothing was treated as an outage.
            await foreach (var parked in new BlobDeadLetterStore(deadLetters).ListAsync(CancellationToken.None))
            {
                Assert.Fail($"batch parked: {parked}");
            }
        }
        finally
        {
            await OwnerSqlAsync($"ALTER TABLE pdm.readings DROP CONSTRAINT readings_no_poison_{_run}");
        }
    }

    [Fact]
    public async Task Replay_stores_batches_behind_one_that_fails_for_its_data_and_quarantines_that_one()
    {
        var tenantA = await NewTenantAsync();
        var tenantB = await NewTenantAsync();
        var deviceA = await NewDeviceAsync(tenantA);
        var deviceB = await NewDeviceAsync(tenantB);
        var container = NewDeadLetters();
        var store = new BlobDeadLetterStore(container);
        var processor = Processor(fixture.AppDatabase, store, NewPayloadContainer());
        var parkedAt = DateTimeOffset.UtcNow.AddMinutes(-30);

        // As the code before this fix parked them: tenant A's poison message, then tenant B's readings. The replay
        // used to stop at the first one forever.
        await store.ParkAsync(new DeadLetterBatch
        {
            ParkedAt = parkedAt, Reason = "22021: invalid byte sequence for encoding \"UTF8\": 0x00",
            Events = [Event(deviceA, "{\"temperature\":1}\0garbage", 1), Event(deviceA, Message("A_1", 0, 1), 2)],
        }, CancellationToken.None);
        // A batch that cannot even be read.
        await container.UploadBlobAsync($"{parkedAt.AddSeconds(1):yyyyMMdd'T'HHmmssfff}-corrupt.json", BinaryData.FromString("{\"events\":[tru"));
        for (var i = 0; i < 3; i++)
        {
            await store.ParkAsync(new DeadLetterBatch
            {
                ParkedAt = parkedAt.AddSeconds(2 + i), Reason = "connection refused",
                Events = [Event(deviceB, Message("B_1", i * 10, 10), 100 + i)],
            }, CancellationToken.None);
        }

        var replay = await processor.ReplayDeadLettersAsync(CancellationToken.None);

        Assert.Equal(new ReplayOutcome(Batches: 4, Events: 5, Remaining: false, Quarantined: 1), replay);
        Assert.Equal(30 * 2, await CountReadingsAsync(tenantB, "B_1"));
        Assert.Equal(2, await CountReadingsAsync(tenantA, "A_1"));
        Assert.Contains("NUL character", Assert.Single(await fixture.AppDatabase.Rejects.ListRejectsAsync(tenantA, null, 10, CancellationToken.None))
            .Errors[0].Reason, StringComparison.Ordinal);
        var backlog = await processor.CheckDeadLettersAsync(CancellationToken.None);
        Assert.Equal(0, backlog.Parked);
        Assert.Equal(1, backlog.Quarantined);
        var quarantined = await container.GetBlobClient($"quarantine/{parkedAt.AddSeconds(1):yyyyMMdd'T'HHmmssfff}-corrupt.json").DownloadContentAsync();
        Assert.Equal("{\"events\":[tru", quarantined.Value.Content.ToString());
        var reason = await container.GetBlobClient($"quarantine/{parkedAt.AddSeconds(1):yyyyMMdd'T'HHmmssfff}-corrupt.json.reason.txt").DownloadContentAsync();
        Assert.Contains("cannot be read", reason.Value.Content.ToString(), StringComparison.Ordinal);

        // Quarantined batches are out of the replay's way for good.
        Assert.Equal(new ReplayOutcome(0, 0, false, 0), await processor.ReplayDeadLettersAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Only_a_transient_failure_parks_a_batch_and_it_stops_the_replay_until_the_database_is_back()
    {
        var tenant = await NewTenantAsync();
        var device = await NewDeviceAsync(tenant);
        var store = new BlobDeadLetterStore(NewDeadLetters());
        var payloads = NewPayloadContainer();
        await using var down = PdmStores.Create(
            $"Host=127.0.0.1;Port={ClosedPort()};Username=pdm_app;Password=x;Database=pdm;Timeout=2;Pooling=false");
        var offline = Processor(down, store, payloads);

        var first = await offline.ProcessAsync([Event(device, Message("T_1", 0, 3), 1)], CancellationToken.None);
        var second = await offline.ProcessAsync([Event(device, Message("T_1", 3, 3), 2)], CancellationToken.None);
        var stopped = await offline.ReplayDeadLettersAsync(CancellationToken.None);

        Assert.NotNull(first.DeadLetter);
        Assert.NotNull(second.DeadLetter);
        Assert.Equal(new ReplayOutcome(0, 0, Remaining: true, Quarantined: 0), stopped);
        var backlog = await offline.CheckDeadLettersAsync(CancellationToken.None);
        Assert.Equal((2, 0), (backlog.Parked, backlog.Quarantined));

        var back = await Processor(fixture.AppDatabase, store, payloads).ReplayDeadLettersAsync(CancellationToken.None);

        Assert.Equal(new ReplayOutcome(2, 2, Remaining: false, Quarantined: 0), back);
        Assert.Equal(6 * 2, await CountReadingsAsync(tenant, "T_1"));
    }

    [Fact]
    public async Task An_outage_is_retried_after_each_configured_delay_and_then_parks_the_batch()
    {
        var device = await NewDeviceAsync(await NewTenantAsync());
        await using var down = PdmStores.Create(
            $"Host=127.0.0.1;Port={ClosedPort()};Username=pdm_app;Password=x;Database=pdm;Timeout=2;Pooling=false");
        var logger = new RecordingLogger();
        var processor = Processor(down, new BlobDeadLetterStore(NewDeadLetters()), NewPayloadContainer(),
            [TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(300)], logger);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = await processor.ProcessAsync([Event(device, Message("R_1", 0, 2), 1)], CancellationToken.None);

        Assert.NotNull(outcome.DeadLetter);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(450), $"waited {clock.Elapsed}");
        Assert.Equal([1, 2, 3], logger.Events.Where(e => e.Id == 4101).Select(e => (int)e.State["Attempt"]!));
        Assert.Single(logger.Events, e => e.Id == 4102);
    }

    [Fact]
    public async Task A_failure_that_is_not_an_outage_is_not_retried_and_quarantines_the_batch()
    {
        var device = await NewDeviceAsync(await NewTenantAsync());
        // A database that does not exist (3D000): the server answers, so this is no outage.
        var missing = new NpgsqlConnectionStringBuilder(fixture.OwnerConnectionString) { Database = "pdm_missing_" + _run, Pooling = false };
        await using var wrong = PdmStores.Create(missing.ConnectionString);
        var logger = new RecordingLogger();
        var processor = Processor(wrong, new BlobDeadLetterStore(NewDeadLetters()), NewPayloadContainer(),
            [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)], logger);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = await processor.ProcessAsync([Event(device, Message("R_2", 0, 2), 1)], CancellationToken.None);

        Assert.NotNull(outcome.Quarantined);
        Assert.Null(outcome.DeadLetter);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"waited {clock.Elapsed}: a retry delay was taken");
        Assert.DoesNotContain(logger.Events, e => e.Id == 4101);
        Assert.Single(logger.Events, e => e.Id == 4109);
    }

    [Fact]
    public async Task The_meter_reports_the_backlog_and_counts_rejects_parks_and_quarantines()
    {
        var tenant = await NewTenantAsync();
        var device = await NewDeviceAsync(tenant);
        var container = NewDeadLetters();
        var store = new BlobDeadLetterStore(container);
        var processor = Processor(fixture.AppDatabase, store, NewPayloadContainer());
        var gauges = new Dictionary<string, long>();
        var counters = new Dictionary<string, long>();
        var doubles = new Dictionary<string, double>();
        var rejectReasons = new List<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _metrics.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument is ObservableGauge<long>)
            {
                gauges[instrument.Name] = value;
                return;
            }
            counters[instrument.Name] = counters.GetValueOrDefault(instrument.Name) + value;
            if (instrument.Name == "pdm.ingest.rejects")
            {
                foreach (var tag in tags)
                {
                    rejectReasons.Add(tag.Value as string);
                }
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => doubles[instrument.Name] = value);
        listener.Start();
        Assert.Equal(IngestMetrics.MeterName, _metrics.Meter.Name);

        await store.ParkAsync(new DeadLetterBatch
        {
            ParkedAt = DateTimeOffset.UtcNow.AddMinutes(-10), Reason = "connection refused",
            Events = [Event(device, Message("G_1", 0, 1), 1)],
        }, CancellationToken.None);
        await container.UploadBlobAsync("20000101T000000000-corrupt.json", BinaryData.FromString("nope"));
        await processor.CheckDeadLettersAsync(CancellationToken.None);
        listener.RecordObservableInstruments();

        Assert.Equal(2, gauges["pdm.ingest.deadletters.parked"]);
        Assert.Equal(0, gauges["pdm.ingest.deadletters.quarantined"]);
        Assert.True(doubles["pdm.ingest.deadletters.oldest_age"] >= 600, $"oldest_age {doubles["pdm.ingest.deadletters.oldest_age"]}");

        await processor.ReplayDeadLettersAsync(CancellationToken.None);
        await processor.ProcessAsync([Event(device, "{\"temperature\":1}\0garbage", 2)], CancellationToken.None);
        listener.RecordObservableInstruments();

        Assert.Equal(0, gauges["pdm.ingest.deadletters.parked"]);
        Assert.Equal(1, gauges["pdm.ingest.deadletters.quarantined"]);
        Assert.Equal(0, doubles["pdm.ingest.deadletters.oldest_age"]);
        Assert.Equal(1, counters["pdm.ingest.batches.quarantined"]);
        Assert.Equal(1, counters["pdm.ingest.rejects"]);
        Assert.Equal(["validation"], rejectReasons);
    }

    // ---- helpers ----

    private IngestProcessor Processor(PdmStores stores, IDeadLetterStore deadLetters, BlobContainerClient payloads,
        TimeSpan[]? retryDelays = null, ILogger<IngestProcessor>? logger = null) =>
        new(stores.Readings, stores.Rejects, stores.Devices, deadLetters, new BlobRejectedPayloadStore(payloads),
            new AnomalyScoring(stores.Scores, null, new AnomalyWarmupOptions(), NullLogger<AnomalyScoring>.Instance),
            new IngestOptions { RetryDelays = retryDelays ?? [] }, _metrics, logger ?? NullLogger<IngestProcessor>.Instance, TimeProvider.System);

    private BlobContainerClient NewDeadLetters() => fixture.Storage.Blobs.GetBlobContainerClient($"dl-{_run}-{Guid.NewGuid():N}"[..40]);

    private BlobContainerClient NewPayloadContainer() => fixture.Storage.Blobs.GetBlobContainerClient($"rj-{_run}-{Guid.NewGuid():N}"[..40]);

    private async Task<Guid> NewTenantAsync() =>
        (await fixture.OwnerDatabase.Tenants.CreateTenantAsync($"t-{Guid.NewGuid():N}", CancellationToken.None)).Id;

    private async Task<string> NewDeviceAsync(Guid tenant) =>
        (await fixture.AppDatabase.Devices.RegisterDeviceAsync(tenant, $"dev-{Guid.NewGuid():N}"[..20], CancellationToken.None)).DeviceId;

    private static IncomingEvent Event(string device, string body, int id) =>
        new() { Body = body, DeviceId = device, EnqueuedTime = Start, MessageId = id.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static string Message(string machine, int first, int count) => Encoding.UTF8.GetString(TelemetryEncoder.Encode(
    [
        .. Enumerable.Range(first, count).Select(i => new MachineSample
        {
            MachineId = machine, Timestamp = Start.AddSeconds(i), Sequence = i,
            Values = [new SensorValue("temperature", 40 + (i % 5)), new SensorValue("current", 12)],
        }),
    ]));

    private static StoredReject Single(IReadOnlyList<StoredReject> rejects, string reason) =>
        Assert.Single(rejects, r => r.Errors.Any(e => e.Reason.Contains(reason, StringComparison.Ordinal)));

    private static async Task<byte[]> BlobAsync(BlobContainerClient container, StoredReject reject)
    {
        Assert.NotNull(reject.PayloadBlob);
        var blob = await container.GetBlobClient(reject.PayloadBlob).DownloadContentAsync(CancellationToken.None);
        return blob.Value.Content.ToArray();
    }

    private async Task<int> CountReadingsAsync(Guid tenant, string machine) =>
        (await fixture.AppDatabase.Readings.QueryReadingsAsync(tenant, machine, Start.AddHours(-1), Start.AddHours(1), null, 10_000,
            CancellationToken.None)).Count;

    private async Task OwnerSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Keeps each log event's id and named values, so a test can count attempts.</summary>
internal sealed class RecordingLogger : ILogger<IngestProcessor>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(int Id, Dictionary<string, object?> State)> _events = new();

    public IReadOnlyList<(int Id, Dictionary<string, object?> State)> Events => [.. _events];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _events.Enqueue((eventId.Id, state is IEnumerable<KeyValuePair<string, object?>> values
            ? values.ToDictionary(v => v.Key, v => v.Value) : []));
}
