using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Persistence;
using Pdm.Ingest.Scoring;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Ingest;

/// <summary>Retry settings for database writes before a batch is parked, and the limits a message's body must keep.</summary>
public sealed record IngestOptions
{
    /// <summary>Delays between attempts; the number of attempts is one more than the number of delays.</summary>
    public IReadOnlyList<TimeSpan> RetryDelays { get; init; } = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)];

    /// <summary>A body larger than this (UTF-8 bytes) is rejected without being decoded. IoT Hub's own limit is 256 KB.</summary>
    public int MaxBodyBytes { get; init; } = 256 * 1024;

    /// <summary>A reject keeps at most this many characters of its body as text; the whole original goes to blob storage.</summary>
    public int MaxStoredPayloadChars { get; init; } = 64 * 1024;
}

/// <summary>
/// Turns a batch of hub events into stored readings. Every event ends in exactly one place: readings (its good
/// samples), rejects (its bad samples or the whole body, with the reasons), or, when the database cannot be
/// reached, a parked dead-letter batch that <see cref="ReplayDeadLettersAsync"/> stores later. The Event Hubs
/// trigger checkpoints past failed invocations, so parking, not redelivery, is what makes failure lossless.
/// Writes are idempotent (readings by key, rejects by message key), so replays and redeliveries store nothing twice.
/// Samples are scored (<see cref="AnomalyScoring"/>) in the transaction that stores them, so a parked and replayed
/// batch is scored exactly once too; with <see cref="AlertEvaluations"/>, the alert rules of the batch's machines and
/// devices are evaluated in that transaction as well, and their outbox rows commit with the readings
/// (<see cref="IngestOutcome.AlertOutbox"/> says how many a publisher has to send).
/// <para>
/// A message's content is never an outage: bodies PostgreSQL could not hold (NUL, invalid UTF-8, too large) are
/// rejected before the database is asked, and when the database still refuses a batch for its data, the batch is
/// stored message by message so only the message it refuses becomes a reject (with the database's reason). Only
/// transient failures (<see cref="StorageErrors"/>) park a batch; a batch that fails for another reason even message by
/// message is quarantined, never parked, so it cannot stop the replay of everyone else's batches.
/// </para>
/// </summary>
public sealed class IngestProcessor(ReadingStore readingStore, RejectStore rejectStore, DeviceStore deviceStore,
    IDeadLetterStore deadLetters, IRejectedPayloadStore rejectedPayloads, AnomalyScoring scoring, IngestOptions options,
    IngestMetrics metrics, ILogger<IngestProcessor> logger, TimeProvider clock, AlertEvaluations? alerts = null)
{
    private static readonly ResiliencePropertyKey<int> EventCount = new("pdm.ingest.events");

    // Only an outage is retried; anything else goes straight to the message-by-message path or quarantine below.
    private readonly ResiliencePipeline _retry = options.RetryDelays.Count == 0 ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder { TimeProvider = clock }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex)
                && !args.Context.CancellationToken.IsCancellationRequested),
            MaxRetryAttempts = options.RetryDelays.Count,
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(options.RetryDelays[args.AttemptNumber]),
            OnRetry = args =>
            {
                logger.StoreAttemptFailed(args.Context.Properties.GetValue(EventCount, 0), args.AttemptNumber + 1,
                    args.Outcome.Exception!.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();

    public async Task<IngestOutcome> ProcessAsync(IReadOnlyList<IncomingEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var batch = metrics.StartBatch(events);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(EventCount, events.Count);
        try
        {
            return await _retry.ExecuteAsync(static async (context, state) =>
                await state.Self.StoreIsolatingRefusalsAsync(state.Events, context.CancellationToken), context, (Self: this, Events: events));
        }
        catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            // Every attempt failed for an outage: park the batch for the replay.
            logger.StoreAttemptFailed(events.Count, options.RetryDelays.Count + 1, ex.Message);
            var name = await deadLetters.ParkAsync(Batch(events, ex.Message), cancellationToken);
            metrics.BatchParked();
            logger.BatchParked(events.Count, name, ex.Message);
            await ObserveBacklogAsync(cancellationToken);
            return new IngestOutcome { Events = events.Count, DeadLetter = name };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not an outage, and not one message either: keep the batch where an operator sees it, out of the
            // replay's way (parking it would make every replay try it again first).
            var reason = StorageErrors.Describe(ex);
            var parked = await deadLetters.ParkAsync(Batch(events, reason), cancellationToken);
            var quarantined = await deadLetters.QuarantineAsync(parked, reason, cancellationToken);
            metrics.BatchQuarantined();
            logger.BatchQuarantined(quarantined, events.Count, reason, ex);
            await ObserveBacklogAsync(cancellationToken);
            return new IngestOutcome { Events = events.Count, Quarantined = quarantined };
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Stores parked batches, oldest first. Stops at the first one that fails transiently (the database is still
    /// away); a batch that fails for any other reason is quarantined and the replay goes on with the next one.
    /// </summary>
    public async Task<ReplayOutcome> ReplayDeadLettersAsync(CancellationToken cancellationToken)
    {
        var replayed = 0;
        var events = 0;
        var quarantined = 0;
        try
        {
            await foreach (var name in deadLetters.ListAsync(cancellationToken))
            {
                DeadLetterBatch? batch;
                try
                {
                    batch = await deadLetters.ReadAsync(name, cancellationToken);
                    if (batch is not null)
                    {
                        await StoreIsolatingRefusalsAsync(batch.Events, cancellationToken);
                    }
                }
                catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
                {
                    logger.ReplayStopped(name, ex.Message);
                    return new ReplayOutcome(replayed, events, Remaining: true, quarantined);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    var reason = ex is System.Text.Json.JsonException
                        ? $"the parked batch cannot be read: {ex.Message}"
                        : StorageErrors.Describe(ex);
                    var moved = await deadLetters.QuarantineAsync(name, reason, cancellationToken);
                    metrics.BatchQuarantined();
                    logger.ReplayQuarantined(name, moved, reason, ex);
                    quarantined++;
                    continue;
                }
                events += batch?.Events.Count ?? 0;
                await deadLetters.DeleteAsync(name, cancellationToken);
                replayed++;
                logger.BatchReplayed(name, batch?.Events.Count ?? 0);
            }
            return new ReplayOutcome(replayed, events, Remaining: false, quarantined);
        }
        finally
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                await ObserveBacklogAsync(cancellationToken);
            }
        }
    }

    /// <summary>Reads the dead-letter backlog, publishes it to <see cref="IngestMetrics"/> and returns it.</summary>
    public async Task<DeadLetterSummary> CheckDeadLettersAsync(CancellationToken cancellationToken)
    {
        var backlog = await deadLetters.SummarizeAsync(cancellationToken);
        metrics.Observe(backlog);
        return backlog;
    }

    /// <summary>
    /// Stores the batch; when the database refuses it for anything but an outage, stores it message by message so
    /// the refusal stays with the one message that caused it. Transient failures propagate.
    /// </summary>
    private async Task<IngestOutcome> StoreIsolatingRefusalsAsync(IReadOnlyList<IncomingEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 1)
        {
            return await StoreOneAsync(events[0], cancellationToken);
        }
        try
        {
            return await StoreAsync(events, cancellationToken);
        }
        catch (Exception ex) when (!IsTransient(ex) && ex is not OperationCanceledException)
        {
            logger.BatchRefused(events.Count, StorageErrors.Describe(ex));
        }
        var outcome = new IngestOutcome();
        foreach (var e in events)
        {
            outcome = outcome.Add(await StoreOneAsync(e, cancellationToken));
        }
        return outcome;
    }

    private async Task<IngestOutcome> StoreOneAsync(IncomingEvent e, CancellationToken cancellationToken)
    {
        try
        {
            return await StoreAsync([e], cancellationToken);
        }
        catch (Exception ex) when (!IsTransient(ex) && ex is not OperationCanceledException)
        {
            // The database refuses this message itself: it becomes a reject with the database's reason.
            var reason = StorageErrors.Describe(ex);
            var tenant = string.IsNullOrEmpty(e.DeviceId) ? null : await deviceStore.ResolveDeviceTenantAsync(e.DeviceId, cancellationToken);
            var reject = await RejectAsync(e, tenant, [new DecodeError("", reason)], cancellationToken);
            metrics.Rejected(await rejectStore.WriteRejectsAsync([reject], cancellationToken), "database");
            logger.MessageRefused(e.DeviceId ?? "", reject.MessageKey, reason);
            return new IngestOutcome { Events = 1, RejectedMessages = 1 };
        }
    }

    private async Task ObserveBacklogAsync(CancellationToken cancellationToken)
    {
        try
        {
            await CheckDeadLettersAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only the gauges go stale; the batch itself is safe.
            logger.BacklogCheckFailed(ex.Message);
        }
    }

    private DeadLetterBatch Batch(IReadOnlyList<IncomingEvent> events, string reason) =>
        new() { ParkedAt = clock.GetUtcNow(), Reason = reason, Events = events };

    private async Task<IngestOutcome> StoreAsync(IReadOnlyList<IncomingEvent> events, CancellationToken cancellationToken)
    {
        var tenants = new Dictionary<string, Guid?>(StringComparer.Ordinal);
        var batches = new Dictionary<(Guid Tenant, string Device), List<MachineSample>>();
        var rejects = new List<RejectedMessage>();
        var samples = 0;
        // Per device of a known tenant: messages accepted and rejected, and the latest enqueued time (rejected_messages, device_offline).
        var messages = new Dictionary<(Guid Tenant, string Device), MessageCounts>();

        using var decode = IngestActivities.Start("ingest decode");
        foreach (var e in events)
        {
            using var scope = logger.BeginMessageScope(e);
            if (string.IsNullOrEmpty(e.DeviceId))
            {
                rejects.Add(await RejectAsync(e, null, [new DecodeError("iothub-connection-device-id", "the event carries no authenticated device id")], cancellationToken));
                continue;
            }
            if (!tenants.TryGetValue(e.DeviceId, out var tenant))
            {
                tenant = await deviceStore.ResolveDeviceTenantAsync(e.DeviceId, cancellationToken);
                tenants[e.DeviceId] = tenant;
            }
            if (tenant is not { } tenantId)
            {
                rejects.Add(await RejectAsync(e, null, [new DecodeError("iothub-connection-device-id", $"device '{e.DeviceId}' is not registered with any tenant")], cancellationToken));
                continue;
            }

            var body = e.RawBody ?? Encoding.UTF8.GetBytes(e.Body);
            if (BodyProblem(e, body) is { } problem)
            {
                rejects.Add(await RejectAsync(e, tenantId, [problem], cancellationToken));
                Count(messages, tenantId, e, rejected: true);
                continue;
            }
            var decoded = TelemetryDecoder.Decode(body, new DecodeContext(e.DeviceId, e.EnqueuedTime));
            logger.MessageDecoded(decoded.Samples.Count, decoded.Errors.Count);
            if (decoded.Samples.Count > 0)
            {
                if (!batches.TryGetValue((tenantId, e.DeviceId), out var list))
                {
                    batches[(tenantId, e.DeviceId)] = list = [];
                }
                list.AddRange(decoded.Samples);
                samples += decoded.Samples.Count;
            }
            if (!decoded.IsClean)
            {
                rejects.Add(await RejectAsync(e, tenantId, decoded.Errors, cancellationToken));
            }
            Count(messages, tenantId, e, rejected: !decoded.IsClean);
        }

        decode?.Stop();

        IngestWriteResult written = default;
        var anomalies = 0;
        if (alerts is not null)
        {
            // A device whose messages were all rejected still has its device rules evaluated in the write.
            foreach (var device in messages.Keys)
            {
                batches.TryAdd(device, []);
            }
        }
        if (batches.Count > 0)
        {
            using var store = IngestActivities.Start("ingest store");
            List<TenantBatch> tenantBatches = [.. batches.Select(b => new TenantBatch(b.Key.Tenant, b.Key.Device, b.Value))];
            var scorer = await scoring.PrepareAsync(tenantBatches, cancellationToken);
            var alerter = alerts?.ForSamples(tenantBatches, scorer.ScoresOf, messages);
            written = await readingStore.WriteReadingsAsync(tenantBatches, metrics.TimeScoring(scorer.Score), alerter, cancellationToken);
            anomalies = scorer.Anomalies;
            if (scorer.Late > 0)
            {
                logger.LateSamplesNotScored(scorer.Late);
            }
        }
        if (rejects.Count > 0)
        {
            metrics.Rejected(await rejectStore.WriteRejectsAsync(rejects, cancellationToken), "validation");
            logger.MessagesRejected(rejects.Count, events.Count);
        }

        var outcome = new IngestOutcome
        {
            Events = events.Count,
            Samples = samples,
            ValuesInserted = written.ValuesInserted,
            ValuesDuplicate = written.ValuesDuplicate,
            MachinesCreated = written.MachinesCreated,
            RejectedMessages = rejects.Count,
            SamplesScored = written.ScoresInserted,
            Anomalies = anomalies,
            AlertEvents = written.AlertEvents,
            AlertOutbox = written.AlertOutbox,
        };
        metrics.Stored(outcome);
        return outcome;
    }

    private static void Count(Dictionary<(Guid Tenant, string Device), MessageCounts> messages, Guid tenantId, IncomingEvent e,
        bool rejected)
    {
        var key = (tenantId, e.DeviceId!);
        var counts = messages.GetValueOrDefault(key) ?? new MessageCounts(e.EnqueuedTime, 0, 0);
        messages[key] = new MessageCounts(e.EnqueuedTime > counts.At ? e.EnqueuedTime : counts.At,
            counts.Accepted + (rejected ? 0 : 1), counts.Rejected + (rejected ? 1 : 0));
    }

    /// <summary>
    /// What makes a body unusable before it is decoded: too large, not valid UTF-8, or holding characters no text
    /// column takes. Checked first, so such a body is a reject with a plain reason and never reaches a database write.
    /// </summary>
    private DecodeError? BodyProblem(IncomingEvent e, byte[] body)
    {
        if (body.Length > options.MaxBodyBytes)
        {
            return new DecodeError("", $"the body has {body.Length} bytes, more than the {options.MaxBodyBytes} accepted");
        }
        if (e.RawBody is not null && InvalidUtf8Offset(body) is { } offset)
        {
            return new DecodeError("", $"the body is not valid UTF-8 (invalid byte sequence at byte {offset})");
        }
        // The host decoded the bytes as UTF-8 and replaced what was not with U+FFFD (dataType string).
        var replaced = e.RawBody is null ? e.Body.IndexOf('\uFFFD', StringComparison.Ordinal) : -1;
        var unstorable = PostgresText.FirstProblem(e.Body);
        if (replaced >= 0 && (unstorable < 0 || replaced < unstorable))
        {
            return new DecodeError("", $"the body is not valid UTF-8 (the host replaced an invalid byte sequence with U+FFFD at character {replaced})");
        }
        if (unstorable >= 0)
        {
            return new DecodeError("", e.Body[unstorable] == '\0'
                ? $"the body contains a NUL character at character {unstorable}"
                : $"the body is not valid Unicode (a lone surrogate at character {unstorable})");
        }
        return null;
    }

    private static int? InvalidUtf8Offset(ReadOnlySpan<byte> bytes)
    {
        var buffer = new char[Math.Min(bytes.Length, 4096)];
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = System.Text.Unicode.Utf8.ToUtf16(bytes[offset..], buffer, out var read, out _, replaceInvalidSequences: false);
            if (status is System.Buffers.OperationStatus.InvalidData or System.Buffers.OperationStatus.NeedMoreData)
            {
                return offset + read;
            }
            offset += read;
        }
        return null;
    }

    /// <summary>
    /// The reject of one message. When its text cannot be stored whole (NUL, invalid UTF-8, longer than
    /// <see cref="IngestOptions.MaxStoredPayloadChars"/>), the original bytes go to blob storage first and the reject
    /// keeps an escaped, truncated copy that points at them.
    /// </summary>
    private async Task<RejectedMessage> RejectAsync(IncomingEvent e, Guid? tenantId, IReadOnlyList<DecodeError> errors,
        CancellationToken cancellationToken)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.MessageRejected(string.Join("; ", errors));
        }
        var key = MessageKey(e);
        var payload = e.Body;
        string? blob = null;
        var invalidUtf8 = e.RawBody is { } raw && !System.Text.Unicode.Utf8.IsValid(raw);
        if (invalidUtf8 || !PostgresText.CanStore(payload) || payload.Length > options.MaxStoredPayloadChars)
        {
            blob = await rejectedPayloads.StoreAsync(tenantId, key, e.RawBody ?? Encoding.UTF8.GetBytes(payload), cancellationToken);
            payload = PostgresText.Truncate(PostgresText.Escape(payload), options.MaxStoredPayloadChars);
        }
        return new RejectedMessage(tenantId, e.DeviceId ?? "", clock.GetUtcNow(), key, errors, payload, "ingest") { PayloadBlob = blob };
    }

    /// <summary>The same event gives the same key on every delivery and replay, so its reject is stored once.</summary>
    internal static string MessageKey(IncomingEvent e)
    {
        if (e.RawBody is { } raw)
        {
            var head = Encoding.UTF8.GetBytes($"{e.DeviceId}\n{e.MessageId}\n{e.EnqueuedTime.UtcTicks}\n");
            return Convert.ToHexStringLower(SHA256.HashData([.. head, .. raw]));
        }
        var text = $"{e.DeviceId}\n{e.MessageId}\n{e.EnqueuedTime.UtcTicks}\n{e.Body}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>
    /// Failures that say the database (or blob storage) is away or busy, not that the batch is bad: only these are
    /// retried and parked. Cancellation of the invocation itself is not a failure at all (the host redelivers).
    /// </summary>
    private static bool IsTransient(Exception ex) => ex switch
    {
        OperationCanceledException => false,
        Azure.RequestFailedException { Status: 0 or 408 or 429 or >= 500 } => true,
        // The storage identity got no token (managed identity endpoint away): an outage, not a bad batch.
        Azure.Identity.AuthenticationFailedException => true,
        HttpRequestException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        _ => StorageErrors.Classify(ex) == StorageFailure.Transient,
    };
}

/// <summary>How many parked batches a replay stored, and whether some are still waiting.</summary>
/// <param name="Quarantined">Batches that failed for their own content and were moved out of the replay's way.</param>
public sealed record ReplayOutcome(int Batches, int Events, bool Remaining, int Quarantined = 0);

internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Storing a batch of {Events} events failed (attempt {Attempt}): {Reason}")]
    public static partial void StoreAttemptFailed(this ILogger logger, int events, int attempt, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Database unavailable: parked {Events} events as dead letter {Name} ({Reason})")]
    public static partial void BatchParked(this ILogger logger, int events, string name, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Replayed dead letter {Name} ({Events} events)")]
    public static partial void BatchReplayed(this ILogger logger, string name, int events);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Dead-letter replay stopped at {Name}: {Reason}")]
    public static partial void ReplayStopped(this ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "Rejected {Rejected} of {Events} messages")]
    public static partial void MessagesRejected(this ILogger logger, int rejected, int events);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information,
        Message = "{Samples} samples were stored but not scored: each is not later than its machine's last scored sample (a replay or a late arrival)")]
    public static partial void LateSamplesNotScored(this ILogger logger, int samples);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning,
        Message = "The database refused a batch of {Events} events for its content ({Reason}); storing it message by message")]
    public static partial void BatchRefused(this ILogger logger, int events, string reason);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning,
        Message = "The database refused a message of device {DeviceId} (key {MessageKey}); stored as a reject: {Reason}")]
    public static partial void MessageRefused(this ILogger logger, string deviceId, string messageKey, string reason);

    [LoggerMessage(EventId = 4109, Level = LogLevel.Error,
        Message = "Quarantined a batch of {Events} events as {Name}: it fails for a reason that is not an outage ({Reason})")]
    public static partial void BatchQuarantined(this ILogger logger, string name, int events, string reason, Exception exception);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Error,
        Message = "Dead letter {Name} fails for a reason that is not an outage; quarantined as {Quarantined} and the replay goes on: {Reason}")]
    public static partial void ReplayQuarantined(this ILogger logger, string name, string quarantined, string reason, Exception exception);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "Could not read the dead-letter backlog: {Reason}")]
    public static partial void BacklogCheckFailed(this ILogger logger, string reason);

    // Per message, at Debug: with the {MessageId, DeviceId} scope they follow one message from gateway to database.
    [LoggerMessage(EventId = 4112, Level = LogLevel.Debug, Message = "Message decoded: {Samples} samples to store, {Errors} errors")]
    public static partial void MessageDecoded(this ILogger logger, int samples, int errors);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Debug, Message = "Message rejected: {Reasons}")]
    public static partial void MessageRejected(this ILogger logger, string reasons);
}
