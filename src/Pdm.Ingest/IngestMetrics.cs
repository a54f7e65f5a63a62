using System.Diagnostics.Metrics;

namespace Pdm.Ingest;

/// <summary>
/// The <c>Pdm.Ingest</c> meter: the dead-letter backlog as gauges (as last seen by <see cref="Observe"/>: every
/// replay, every park or quarantine, every health check) and counters of rejected messages and of batches parked
/// and quarantined. OpenTelemetry reads it by name.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Pdm.Ingest";

    private readonly TimeProvider _clock;
    private readonly Counter<long> _rejects;
    private readonly Counter<long> _parked;
    private readonly Counter<long> _quarantined;
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

    public void BatchParked() => _parked.Add(1);

    public void BatchQuarantined() => _quarantined.Add(1);

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<T>> Gauge<T>(Func<DeadLetterSummary, T> value) where T : struct =>
        Backlog is { } backlog ? [new Measurement<T>(value(backlog))] : [];
}
