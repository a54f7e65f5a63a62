using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Pdm.Ingest.Scoring;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Ingest;

/// <summary>Retry settings for database writes before a batch is parked.</summary>
public sealed record IngestOptions
{
    /// <summary>Delays between attempts; the number of attempts is one more than the number of delays.</summary>
    public IReadOnlyList<TimeSpan> RetryDelays { get; init; } = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)];
}

/// <summary>
/// Turns a batch of hub events into stored readings. Every event ends in exactly one place: readings (its good
/// samples), rejects (its bad samples or the whole body, with the reasons), or, when the database cannot be
/// reached, a parked dead-letter batch that <see cref="ReplayDeadLettersAsync"/> stores later. The Event Hubs
/// trigger checkpoints past failed invocations, so parking, not redelivery, is what makes failure lossless.
/// Writes are idempotent (readings by key, rejects by message key), so replays and redeliveries store nothing twice.
/// Samples are scored (<see cref="AnomalyScoring"/>) in the transaction that stores them, so a parked and replayed
/// batch is scored exactly once too.
/// </summary>
public sealed class IngestProcessor(PdmDatabase database, IDeadLetterStore deadLetters, AnomalyScoring scoring,
    IngestOptions options, ILogger<IngestProcessor> logger, TimeProvider clock)
{
    public async Task<IngestOutcome> ProcessAsync(IReadOnlyList<IncomingEvent> events, CancellationToken cancellationToken)
    {
        Exception? lastError = null;
        for (var attempt = 0; attempt <= options.RetryDelays.Count; attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(options.RetryDelays[attempt - 1], clock, cancellationToken);
            }
            try
            {
                return await StoreAsync(events, cancellationToken);
            }
            catch (Exception ex) when (IsStorageFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                lastError = ex;
                logger.StoreAttemptFailed(events.Count, attempt + 1, ex.Message);
            }
        }

        var batch = new DeadLetterBatch { ParkedAt = clock.GetUtcNow(), Reason = lastError!.Message, Events = events };
        var name = await deadLetters.ParkAsync(batch, cancellationToken);
        logger.BatchParked(events.Count, name, lastError.Message);
        return new IngestOutcome { Events = events.Count, DeadLetter = name };
    }

    /// <summary>Stores parked batches, oldest first; stops at the first one the database still refuses.</summary>
    public async Task<ReplayOutcome> ReplayDeadLettersAsync(CancellationToken cancellationToken)
    {
        var replayed = 0;
        var events = 0;
        await foreach (var name in deadLetters.ListAsync(cancellationToken))
        {
            var batch = await deadLetters.ReadAsync(name, cancellationToken);
            if (batch is not null)
            {
                try
                {
                    await StoreAsync(batch.Events, cancellationToken);
                }
                catch (Exception ex) when (IsStorageFailure(ex))
                {
                    logger.ReplayStopped(name, ex.Message);
                    return new ReplayOutcome(replayed, events, Remaining: true);
                }
                events += batch.Events.Count;
            }
            await deadLetters.DeleteAsync(name, cancellationToken);
            replayed++;
            logger.BatchReplayed(name, batch?.Events.Count ?? 0);
        }
        return new ReplayOutcome(replayed, events, Remaining: false);
    }

    private async Task<IngestOutcome> StoreAsync(IReadOnlyList<IncomingEvent> events, CancellationToken cancellationToken)
    {
        var tenants = new Dictionary<string, Guid?>(StringComparer.Ordinal);
        var batches = new Dictionary<(Guid Tenant, string Device), List<MachineSample>>();
        var rejects = new List<RejectedMessage>();
        var samples = 0;

        foreach (var e in events)
        {
            if (string.IsNullOrEmpty(e.DeviceId))
            {
                rejects.Add(Reject(e, null, [new DecodeError("iothub-connection-device-id", "the event carries no authenticated device id")]));
                continue;
            }
            if (!tenants.TryGetValue(e.DeviceId, out var tenant))
            {
                tenant = await database.ResolveDeviceTenantAsync(e.DeviceId, cancellationToken);
                tenants[e.DeviceId] = tenant;
            }
            if (tenant is not { } tenantId)
            {
                rejects.Add(Reject(e, null, [new DecodeError("iothub-connection-device-id", $"device '{e.DeviceId}' is not registered with any tenant")]));
                continue;
            }

            var decoded = TelemetryDecoder.Decode(Encoding.UTF8.GetBytes(e.Body), new DecodeContext(e.DeviceId, e.EnqueuedTime));
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
                rejects.Add(Reject(e, tenantId, decoded.Errors));
            }
        }

        IngestWriteResult written = default;
        var anomalies = 0;
        if (batches.Count > 0)
        {
            List<TenantBatch> tenantBatches = [.. batches.Select(b => new TenantBatch(b.Key.Tenant, b.Key.Device, b.Value))];
            var scorer = await scoring.PrepareAsync(tenantBatches, cancellationToken);
            written = await database.WriteReadingsAsync(tenantBatches, scorer.Score, cancellationToken);
            anomalies = scorer.Anomalies;
            if (scorer.Late > 0)
            {
                logger.LateSamplesNotScored(scorer.Late);
            }
        }
        if (rejects.Count > 0)
        {
            await database.WriteRejectsAsync(rejects, cancellationToken);
            logger.MessagesRejected(rejects.Count, events.Count);
        }

        return new IngestOutcome
        {
            Events = events.Count,
            Samples = samples,
            ValuesInserted = written.ValuesInserted,
            ValuesDuplicate = written.ValuesDuplicate,
            MachinesCreated = written.MachinesCreated,
            RejectedMessages = rejects.Count,
            SamplesScored = written.ScoresInserted,
            Anomalies = anomalies,
        };
    }

    private RejectedMessage Reject(IncomingEvent e, Guid? tenantId, IReadOnlyList<DecodeError> errors) =>
        new(tenantId, e.DeviceId ?? "", clock.GetUtcNow(), MessageKey(e), errors, e.Body, "ingest");

    /// <summary>The same event gives the same key on every delivery and replay, so its reject is stored once.</summary>
    internal static string MessageKey(IncomingEvent e)
    {
        var text = $"{e.DeviceId}\n{e.MessageId}\n{e.EnqueuedTime.UtcTicks}\n{e.Body}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>
    /// Anything that goes wrong while storing is parked rather than lost, except cancellation of the
    /// invocation itself, which the host will redeliver or retry.
    /// </summary>
    private static bool IsStorageFailure(Exception ex) => ex is not OperationCanceledException;
}

/// <summary>How many parked batches a replay stored, and whether some are still waiting.</summary>
public sealed record ReplayOutcome(int Batches, int Events, bool Remaining);

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
}
