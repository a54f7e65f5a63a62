namespace Pdm.Edge.Sources;

/// <summary>Counts reads and errors of one source from its worker, and hands out consistent snapshots to status readers.</summary>
internal sealed class SourceStatusTracker(string name, string kind, TimeProvider time)
{
    private readonly Lock _gate = new();
    private SourceStatus _status = new() { Name = name, Kind = kind, State = SourceState.Starting };

    public TimeProvider Time { get; } = time;

    public SourceStatus Snapshot
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    public void SetState(SourceState state)
    {
        lock (_gate)
        {
            _status = _status with { State = state };
        }
    }

    public void RecordRead()
    {
        lock (_gate)
        {
            _status = _status with { LastRead = Time.GetUtcNow(), Reads = _status.Reads + 1 };
        }
        EdgeTelemetry.SourceRead(kind);
    }

    /// <summary>Counts an error; <paramref name="state"/> changes the state too (a bad payload leaves it as it is).</summary>
    public void RecordError(string error, SourceState? state = null)
    {
        lock (_gate)
        {
            _status = _status with
            {
                State = state ?? _status.State,
                LastError = error,
                LastErrorAt = Time.GetUtcNow(),
                Errors = _status.Errors + 1,
            };
        }
        EdgeTelemetry.SourceFailed(kind);
    }
}
