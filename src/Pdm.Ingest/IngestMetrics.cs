using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pdm.Storage;

namespace Pdm.Ingest;

/// <summary>
/// The <c>Pdm.Ingest</c> meter: events received, readings stored, samples scored and anomalies, batch and scoring
/// time; the dead-letter backlog as gauges (as last seen by <see cref="Observe"/>: every replay, every park or
/// quarantine, every health check) and counters of rejected messages and of batches parked and quarantined.
/// OpenTelemetry reads it by name. The batch spans come from <see cref="IngestActivities"/>.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Pdm.Ingest";

    private readonly TimeProvider _clock;
    private readonly Counter<long> _rejects;
    private readonly Counter<long> _parked;
    private readonly Counter<long> _quarantined;
    private readonly Counter<long> _events;
    private readonly Counter<long> _readings;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _scored;
    private readonly Counter<long> _anomalies;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _scoringDuration;
    private DeadLetterSummary? _backlog;

    public IngestMetrics(TimeProvider clock)
    {
        _clock = clock;
        Meter = new Meter(MeterName);
        Meter.CreateObservableGauge("pdm.ingest.deadletters.parked", () => Gauge<long>(b => b.Parked),
            unit: "{batch}", description: "Batches parked because the database was unavailable, waiting for a replay");
        Meter.CreateObservableGauge("pdm.ingest.deadletters.oldest_age", () => Gauge<double>(b => b.OldestParkedAge(_clock.GetUtcNow()).TotalSeconds),
            unit: "s", description: "How long the oldest parked batch has waited (0 when none is parked)");
        Meter.CreateObservableGauge("pdm.ingest.deadletters.quarantined", () => Gauge<long>(b => b.Quarantined),
            unit: "{batch}", description: "Batches that failed for their own content and wait for an operator");
        _rejects = Meter.CreateCounter<long>("pdm.ingest.rejects", unit: "{message}",
            description: "Messages stored as rejects; tag reason: validation (the contract) or database (PostgreSQL refused it)");
        _parked = Meter.CreateCounter<long>("pdm.ingest.batches.parked", unit: "{batch}",
            description: "Batches parked because the database was unavailable");
        _quarantined = Meter.CreateCounter<long>("pdm.ingest.batches.quarantined", unit: "{batch}",
            description: "Batches quarantined because they failed for their own content");
        _events = Meter.CreateCounter<long>("pdm.ingest.events", unit: "{event}", description: "Hub events received in Ingest invocations");
        _readings = Meter.CreateCounter<long>("pdm.ingest.readings", unit: "{value}", description: "Sensor values stored (new ones)");
        _duplicates = Meter.CreateCounter<long>("pdm.ingest.readings.duplicate", unit: "{value}",
            description: "Sensor values already stored (redeliveries, replays), dropped");
        _scored = Meter.CreateCounter<long>("pdm.ingest.samples.scored", unit: "{sample}", description: "Samples given an anomaly score");
        _anomalies = Meter.CreateCounter<long>("pdm.ingest.anomalies", unit: "{sample}", description: "Scored samples found anomalous");
        _batchDuration = Meter.CreateHistogram<double>("pdm.ingest.batch.duration", unit: "s",
            description: "Time to process one Ingest invocation's batch, retries and parking included");
        _scoringDuration = Meter.CreateHistogram<double>("pdm.ingest.scoring.duration", unit: "s",
            description: "Time spent scoring one tenant's samples of a batch (inside the write transaction)");
    }

    public Meter Meter { get; }

    /// <summary>The backlog as last observed; null before the first observation.</summary>
    public DeadLetterSummary? Backlog => Volatile.Read(ref _backlog);

    public void Observe(DeadLetterSummary backlog) => Volatile.Write(ref _backlog, backlog);

    public void Rejected(long messages, string reason)
    {
        if (messages > 0)
        {
            _rejects.Add(messages, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void BatchParked()
    {
        _parked.Add(1);
        Activity.Current?.SetTag("pdm.ingest.outcome", "parked").SetStatus(ActivityStatusCode.Error, "database unavailable");
    }

    public void BatchQuarantined()
    {
        _quarantined.Add(1);
        Activity.Current?.SetTag("pdm.ingest.outcome", "quarantined").SetStatus(ActivityStatusCode.Error, "quarantined");
    }

    /// <summary>Counts the batch's events and starts its span; disposing records the batch time and ends the span.</summary>
    public BatchTiming StartBatch(IReadOnlyList<IncomingEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        _events.Add(events.Count);
        return new BatchTiming(this, IngestActivities.StartBatch(events), Stopwatch.GetTimestamp());
    }

    /// <summary>What one store of readings did (a batch, a replayed batch, or one message of a refused batch).</summary>
    public void Stored(IngestOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _readings.Add(outcome.ValuesInserted);
        _duplicates.Add(outcome.ValuesDuplicate);
        _scored.Add(outcome.SamplesScored);
        _anomalies.Add(outcome.Anomalies);
    }

    /// <summary><paramref name="score"/>, timed and traced (<c>ingest score</c>) each time it scores a tenant's samples.</summary>
    public TenantScorer TimeScoring(TenantScorer score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return (tenantId, states, zones) =>
        {
            using var activity = IngestActivities.Start("ingest score");
            var started = Stopwatch.GetTimestamp();
            var write = score(tenantId, states, zones);
            _scoringDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            activity?.SetTag("pdm.scores", write.Scores.Count);
            return write;
        };
    }

    public void Dispose() => Meter.Dispose();

    /// <summary>The running batch: its span and start time.</summary>
    public readonly struct BatchTiming(IngestMetrics owner, Activity? activity, long started) : IDisposable
    {
        public void Dispose()
        {
            owner._batchDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            activity?.Dispose();
        }
    }

    private IEnumerable<Measurement<T>> Gauge<T>(Func<DeadLetterSummary, T> value) where T : struct =>
        Backlog is { } backlog ? [new Measurement<T>(value(backlog))] : [];
}
