using Pdm.Telemetry;
using System.Buffers.Binary;

namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Scores one machine's samples as they arrive, causally: the score of a sample uses only it and the samples
/// before it. The per-machine state is a small array of doubles (last values, lag history, robust baselines and
/// spreads, rolling levels) that <see cref="SaveState()"/> checkpoints and <see cref="TryRestoreState"/> restores
/// exactly: a restored scorer gives bit-identical scores to one that never stopped. Scoring allocates nothing.
/// Not thread-safe: one scorer per machine, one sample at a time.
/// </summary>
public sealed class MachineScorer
{
    private const uint StateMagic = 0x53414450; // "PDAS"
    private const int StateVersion = 1;
    private const int StateHeaderBytes = 4 + 4 + 8 + 4;

    internal const int ForestFeaturesPerSensor = 2;

    private const int SeenSlot = 0;
    private const int TimeSlot = 1;

    private readonly AnomalyModel _model;
    private readonly IsoZoneBoundaries? _zones;
    private readonly int _p;
    private readonly int _lags;
    private readonly double[] _state;
    private readonly int _lastOffset;
    private readonly int _historyOffset;
    private readonly int _baselineOffset;
    private readonly int _spreadOffset;
    private readonly int _levelOffset;

    // Scratch, overwritten on every sample: never part of the state.
    private readonly double[] _x;
    private readonly double[] _features;
    private readonly double[] _forestCredit;
    private readonly double[] _raw = new double[AnomalyModel.RawCount];
    private readonly double[] _surprise = new double[AnomalyModel.RawCount];
    private readonly double[] _shareRobust;
    private readonly double[] _shareForest;
    private readonly double[] _shareT2;
    private readonly double[] _shareQ;
    private readonly double[] _shareTemporal;
    private readonly double[] _pcaZ;
    private readonly double[] _pcaScores;
    private readonly double[] _temporalInputs;
    private readonly double[] _contributions;

    internal MachineScorer(AnomalyModel model, IsoZoneBoundaries? zones)
    {
        _model = model;
        _zones = model.IsoZones is null ? null : zones ?? model.IsoZones;
        _p = model.FeatureNames.Count;
        _lags = model.Temporal.Lags;
        _lastOffset = 2;
        _historyOffset = _lastOffset + _p;
        _baselineOffset = _historyOffset + (_lags * _p);
        _spreadOffset = _baselineOffset + _p;
        _levelOffset = _spreadOffset + _p;
        _state = new double[_levelOffset + _p];
        _x = new double[_p];
        _features = new double[ForestFeaturesPerSensor * _p];
        _forestCredit = new double[ForestFeaturesPerSensor * _p];
        _shareRobust = new double[_p];
        _shareForest = new double[_p];
        _shareT2 = new double[_p];
        _shareQ = new double[_p];
        _shareTemporal = new double[_p];
        _pcaZ = new double[_p];
        _pcaScores = new double[Math.Max(1, model.Pca?.Components ?? 1)];
        _temporalInputs = new double[1 + (_lags * _p)];
        _contributions = new double[_p];
        Reset();
    }

    public AnomalyModel Model => _model;

    /// <summary>Bytes of a saved state (header included): the per-machine memory that must be kept.</summary>
    public int StateBytes => StateHeaderBytes + (_state.Length * sizeof(double));

    /// <summary>
    /// Per-sensor contributions to the last score, in score units: they add up to <see cref="AnomalyScore.Score"/>
    /// (each part's surprise times its weight, split by that part's per-sensor shares). Valid until the next call.
    /// </summary>
    public ReadOnlySpan<double> Contributions => _contributions;

    /// <summary>Back to the state of a machine never seen: the training medians and settled spreads.</summary>
    public void Reset()
    {
        var medians = _model.Medians;
        _state[SeenSlot] = 0;
        _state[TimeSlot] = double.NaN;
        medians.CopyTo(_state.AsSpan(_lastOffset, _p));
        for (var l = 0; l < _lags; l++)
        {
            medians.CopyTo(_state.AsSpan(_historyOffset + (l * _p), _p));
        }
        _model.Robust.InitialBaseline.CopyTo(_state.AsSpan(_baselineOffset, _p));
        _model.Robust.InitialSpread.CopyTo(_state.AsSpan(_spreadOffset, _p));
        medians.CopyTo(_state.AsSpan(_levelOffset, _p));
    }

    /// <summary>
    /// Scores one sample: <paramref name="values"/> in the model's feature order (NaN = missing, carried from the
    /// last value), <paramref name="time"/> in seconds (NaN if unknown; used only to notice gaps).
    /// </summary>
    public AnomalyScore Score(ReadOnlySpan<double> values, double time)
    {
        ScoreRaw(values, time, _raw, out var zone);
        var surprise = _model.Surprises(_raw, _surprise);
        var score = _model.Combine(surprise, out var statistical);
        var robust = surprise[AnomalyModel.RawRobust];
        var pca = Math.Max(surprise[AnomalyModel.RawT2], surprise[AnomalyModel.RawQ]);

        var w = _model.Weights;
        var forestPart = w.IsolationForest * surprise[AnomalyModel.RawForest] / w.Total;
        var statisticalPart = w.Statistical * statistical / w.Total;
        var temporalPart = w.Temporal * surprise[AnomalyModel.RawTemporal] / w.Total;
        var statisticalShare = robust >= pca ? _shareRobust
            : surprise[AnomalyModel.RawQ] >= surprise[AnomalyModel.RawT2] ? _shareQ : _shareT2;
        var top = 0;
        for (var i = 0; i < _p; i++)
        {
            _contributions[i] = (forestPart * _shareForest[i]) + (statisticalPart * statisticalShare[i])
                + (temporalPart * _shareTemporal[i]);
            if (_contributions[i] > _contributions[top])
            {
                top = i;
            }
        }

        var threshold = _model.Threshold;
        var anomalous = score > threshold;
        if (zone >= VibrationZone.C)
        {
            // The zone check needs no training; when it alone raises the alarm, name the sensor it saw.
            if (!anomalous)
            {
                top = WorstVibrationSensor();
            }
            anomalous = true;
        }
        return new AnomalyScore(score, threshold, anomalous, surprise[AnomalyModel.RawForest], statistical, robust,
            pca, surprise[AnomalyModel.RawTemporal], zone, top, _contributions[top]);
    }

    /// <summary>
    /// Advances the state by one sample and writes each detector's raw score (see the Raw* constants) and
    /// per-sensor shares; training calibrates on exactly these.
    /// </summary>
    internal void ScoreRaw(ReadOnlySpan<double> values, double time, Span<double> raw, out VibrationZone zone)
    {
        if (values.Length != _p)
        {
            throw new ArgumentException($"expected {_p} values, got {values.Length}", nameof(values));
        }
        var state = _state.AsSpan();
        var last = state.Slice(_lastOffset, _p);
        var x = _x.AsSpan();
        for (var i = 0; i < _p; i++)
        {
            var v = values[i];
            x[i] = double.IsFinite(v) ? v : last[i];
        }
        x.CopyTo(last);

        var history = state.Slice(_historyOffset, _lags * _p);
        var level = state.Slice(_levelOffset, _p);
        if (state[SeenSlot] == 0 || StartsStretch(state[TimeSlot], time, _model.GapSeconds))
        {
            for (var l = 0; l < _lags; l++)
            {
                x.CopyTo(history.Slice(l * _p, _p));
            }
            x.CopyTo(level);
        }

        raw[AnomalyModel.RawRobust] = _model.Robust.Score(x, state.Slice(_baselineOffset, _p),
            state.Slice(_spreadOffset, _p), _shareRobust);

        ForestFeatures(x, level, _model.LevelAlpha, _features);
        raw[AnomalyModel.RawForest] = _model.Forest.Score(_features, _forestCredit);
        double forestTotal = 0;
        for (var i = 0; i < _p; i++)
        {
            var credit = _forestCredit[i] + _forestCredit[_p + i];
            _shareForest[i] = credit;
            forestTotal += credit;
        }
        RobustEwmaDetector.Normalize(_shareForest, forestTotal);

        if (_model.Pca is { } pca)
        {
            pca.Score(x, _pcaZ, _pcaScores, _shareT2, _shareQ, out raw[AnomalyModel.RawT2], out raw[AnomalyModel.RawQ]);
        }
        else
        {
            raw[AnomalyModel.RawT2] = 0;
            raw[AnomalyModel.RawQ] = 0;
        }

        raw[AnomalyModel.RawTemporal] = _model.Temporal.Score(x, history, _temporalInputs, _shareTemporal);

        // Shift the lag history: lag l+1 <- lag l, lag 1 <- x.
        history[..^_p].CopyTo(history[_p..]);
        x.CopyTo(history[.._p]);
        state[SeenSlot]++;
        state[TimeSlot] = time;

        zone = VibrationZone.None;
        if (_zones is { } iso)
        {
            foreach (var i in _model.VibrationIndices)
            {
                var z = iso.Classify(x[i]);
                zone = z > zone ? z : zone;
            }
        }
    }

    private int WorstVibrationSensor()
    {
        var worst = -1;
        foreach (var i in _model.VibrationIndices)
        {
            if (worst < 0 || _x[i] > _x[worst])
            {
                worst = i;
            }
        }
        return worst;
    }

    /// <summary>
    /// The isolation forest's view of a sample: each sensor's value, and its departure from the sensor's rolling
    /// level (an EWMA of the samples before it), which shows steps and spikes that stay inside the normal range.
    /// </summary>
    internal static void ForestFeatures(ReadOnlySpan<double> x, Span<double> level, double levelAlpha,
        Span<double> features)
    {
        var p = x.Length;
        for (var i = 0; i < p; i++)
        {
            features[i] = x[i];
            features[p + i] = x[i] - level[i];
            level[i] += levelAlpha * (x[i] - level[i]);
        }
    }

    /// <summary>Whether a sample at <paramref name="time"/> starts a new stretch after one at <paramref name="previous"/>.</summary>
    internal static bool StartsStretch(double previous, double time, double gapSeconds) =>
        double.IsFinite(previous) && double.IsFinite(time) && (time < previous || time - previous > gapSeconds);

    internal static bool IsConstant(ReadOnlySpan<double> values, int p, int column)
    {
        for (var r = p + column; r < values.Length; r += p)
        {
            if (values[r] != values[column])
            {
                return false;
            }
        }
        return true;
    }

    public byte[] SaveState()
    {
        var bytes = new byte[StateBytes];
        SaveState(bytes);
        return bytes;
    }

    /// <summary>Writes the state (little-endian, with the model fingerprint) and returns the bytes written.</summary>
    public int SaveState(Span<byte> destination)
    {
        if (destination.Length < StateBytes)
        {
            throw new ArgumentException($"the state needs {StateBytes} bytes", nameof(destination));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(destination, StateMagic);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], StateVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _model.Fingerprint);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], _state.Length);
        for (var i = 0; i < _state.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(destination[(StateHeaderBytes + (8 * i))..], _state[i]);
        }
        return StateBytes;
    }

    /// <summary>Restores a state saved by a scorer of the same model; anything else is refused with the reason.</summary>
    public bool TryRestoreState(ReadOnlySpan<byte> saved, out string? error)
    {
        if (saved.Length < StateHeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(saved) != StateMagic)
        {
            error = "not a machine scorer state";
            return false;
        }
        var version = BinaryPrimitives.ReadInt32LittleEndian(saved[4..]);
        if (version != StateVersion)
        {
            error = $"state version {version} is not supported (this build reads version {StateVersion})";
            return false;
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(saved[8..]) != _model.Fingerprint)
        {
            error = "the state was saved with a different model";
            return false;
        }
        if (BinaryPrimitives.ReadInt32LittleEndian(saved[16..]) != _state.Length || saved.Length != StateBytes)
        {
            error = $"the state has the wrong size: expected {StateBytes} bytes";
            return false;
        }
        for (var i = 0; i < _state.Length; i++)
        {
            _state[i] = BinaryPrimitives.ReadDoubleLittleEndian(saved[(StateHeaderBytes + (8 * i))..]);
        }
        error = null;
        return true;
    }
}
