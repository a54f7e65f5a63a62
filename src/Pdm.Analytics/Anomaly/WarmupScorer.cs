using Pdm.Analytics.Data;
using Pdm.Telemetry;
using System.Buffers.Binary;
using System.Text;

namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Scores a machine that has no trained model yet, and collects the samples to train one on.
/// <list type="bullet">
/// <item>Baseline: the robust EWMA detector per sensor and the ISO 10816 zone check, neither needing training. The
/// first <see cref="MachineAnomalyTracker.SettleSamples"/> kept samples (with every sensor seen) only settle it:
/// its starting baseline and spread are their median and robust scale. Until then only the zone check can alarm.</item>
/// <item>Threshold without training: the detector's z (deviation over sqrt(pi/2) × the EWMA of absolute
/// deviations) is read as a Laplace variable, whose tail is heavier than the normal one: P(z &gt; z0) = exp(-sqrt(pi/2)·z0)
/// per sensor, times the number of sensors for the largest of them (Bonferroni). The score is -log10 of that
/// probability (the surprise units of a trained model, capped at 16) and the threshold -log10 of the target
/// false-positive rate; at 1 % with 8 sensors that is z above 5.3.</item>
/// <item>Collection: samples with at least one value are kept as received (float32, NaN for missing) with their
/// time (float32 seconds after the first kept sample) until the window is full. Every k-th sample is kept, k chosen
/// from the interval between the first two samples so that the window spans at least the minimum span (a day by
/// default in the platform: shifts and ambient cycles), and doubled after each window refused as unrepresentative
/// (see <see cref="TryLearn"/>).</item>
/// </list>
/// Not thread-safe.
/// </summary>
internal sealed class WarmupScorer
{
    /// <summary>Windows in which a sensor never changes are refused this many times before one is accepted anyway.</summary>
    private const int ConstantWindowRetries = 2;

    /// <summary>
    /// A model fitted on the window's first half may alarm on at most this share of its second half; above it the
    /// window does not show the machine's normal variation (a fit on a few hundred rows alarms on a few percent of
    /// new normal rows, a window that misses the machine's cycles on most of them).
    /// </summary>
    private const double RepresentativeLimit = 0.2;

    /// <summary>Each refused window doubles the stride between kept samples, up to 2^this.</summary>
    private const int MaxStrideDoublings = 12;

    /// <summary>Most samples a kept one may stand for, whatever the span asks.</summary>
    private const int MaxBaseStride = 1 << 20;

    private const uint StateMagic = 0x55574450; // "PDWU"
    private const int StateVersion = 2;
    private const int StateHeaderBytes = 4 + 4 + 8 + (7 * 4) + 8;

    // log10(e) * sqrt(pi/2): -log10 of the Laplace tail per unit of z.
    private static readonly double SurprisePerZ = Math.Sqrt(Math.PI / 2) / Math.Log(10);

    private readonly string[] _names;
    private readonly int _p;
    private readonly AnomalyOptions _options;
    private readonly ulong _seed;
    private readonly int _window;
    private readonly TimeSpan _minimumSpan;
    private readonly ulong _configuration;
    private readonly int[] _vibration;
    private readonly double _threshold;
    private readonly double _sensorsSurprise;
    private readonly RobustEwmaDetector _detector;

    // The state: everything below is checkpointed.
    private readonly double[] _last;
    private readonly double[] _baseline;
    private readonly double[] _spread;
    private readonly double[] _floor;
    private readonly float[] _times;
    private readonly float[] _values;
    private bool _settled;
    private int _collected;
    private int _attempts;
    private int _unrepresentative;
    private int _sinceKept;
    private int _baseStride;
    private double _origin = double.NaN;

    // Scratch, overwritten on every sample.
    private readonly double[] _x;
    private readonly double[] _share;
    private readonly double[] _contributions;

    public WarmupScorer(string[] names, ulong seed, AnomalyOptions options, int window, TimeSpan minimumSpan)
    {
        _minimumSpan = minimumSpan;
        _baseStride = minimumSpan > TimeSpan.Zero ? 0 : 1;
        _names = names;
        _p = names.Length;
        _options = options;
        _seed = seed;
        _window = window;
        _vibration = AnomalyModel.VibrationColumns(names, options);
        _threshold = -Math.Log10(options.TargetFalsePositiveRate);
        _sensorsSurprise = Math.Log10(_p);
        _last = new double[_p];
        _baseline = new double[_p];
        _spread = new double[_p];
        _floor = new double[_p];
        _detector = new RobustEwmaDetector(options.StatisticalAlpha, [], [], _floor);
        _times = new float[window];
        _values = new float[window * _p];
        _x = new double[_p];
        _share = new double[_p];
        _contributions = new double[_p];
        _last.AsSpan().Fill(double.NaN);
        _configuration = Configuration();
    }

    public int Collected => _collected;

    /// <summary>Every how many samples one is kept: doubles with each window refused as unrepresentative.</summary>
    public int Stride => StrideOf(_baseStride, _unrepresentative);

    private static int StrideOf(int baseStride, int unrepresentative) =>
        Math.Max(1, baseStride) << Math.Min(unrepresentative, MaxStrideDoublings);

    public bool IsFull => _collected == _window;

    public ReadOnlySpan<double> Contributions => _contributions;

    public int StateBytes => StateHeaderBytes + (4 * _p * sizeof(double)) + (_collected * (_p + 1) * sizeof(float));

    public AnomalyScore Score(ReadOnlySpan<double> values, double time)
    {
        if (values.Length != _p)
        {
            throw new ArgumentException($"expected {_p} values, got {values.Length}", nameof(values));
        }
        var keep = false;
        for (var i = 0; i < _p; i++)
        {
            var v = values[i];
            keep |= double.IsFinite(v);
            _x[i] = double.IsFinite(v) ? v : _last[i];
        }
        _x.CopyTo(_last, 0);

        double surprise = 0;
        if (_settled)
        {
            var z = _detector.Score(_x, _baseline, _spread, _share);
            surprise = Math.Clamp((SurprisePerZ * z) - _sensorsSurprise, 0, SurpriseCalibrator.MaxSurprise);
        }
        else
        {
            _share.AsSpan().Clear();
        }
        var top = 0;
        for (var i = 0; i < _p; i++)
        {
            _contributions[i] = surprise * _share[i];
            if (_contributions[i] > _contributions[top])
            {
                top = i;
            }
        }

        var zone = VibrationZone.None;
        var worst = -1;
        if (_options.IsoZones is { } iso)
        {
            foreach (var i in _vibration)
            {
                var z = iso.Classify(_x[i]);
                zone = z > zone ? z : zone;
                worst = worst < 0 || _x[i] > _x[worst] || double.IsNaN(_x[worst]) ? i : worst;
            }
        }
        var anomalous = surprise > _threshold;
        if (zone >= VibrationZone.C)
        {
            // As the trained scorer: when the zone check alone raises the alarm, name the sensor it saw.
            top = anomalous ? top : worst;
            anomalous = true;
        }

        if (keep)
        {
            if (_baseStride == 0 && _collected == 1 && double.IsFinite(time) && time > _origin)
            {
                // The second sample tells the interval: keep every k-th so the window spans the minimum span.
                var k = Math.Ceiling(_minimumSpan.TotalSeconds / (_window * (time - _origin)));
                _baseStride = (int)Math.Clamp(k, 1, MaxBaseStride);
                _sinceKept = 1 % Stride;
            }
            if (_sinceKept == 0)
            {
                Keep(values, time);
            }
            _sinceKept = (_sinceKept + 1) % Stride;
        }
        if (!_settled && _collected >= MachineAnomalyTracker.SettleSamples && !_last.Any(double.IsNaN))
        {
            Settle();
        }
        return new AnomalyScore(surprise, _threshold, anomalous, IsolationForest: 0, Statistical: surprise,
            RobustEwma: surprise, Pca: 0, Temporal: 0, zone, top, _contributions[top]);
    }

    private void Keep(ReadOnlySpan<double> values, double time)
    {
        if (double.IsNaN(_origin) && double.IsFinite(time))
        {
            _origin = time;
        }
        _times[_collected] = (float)(time - _origin);
        var row = _values.AsSpan(_collected * _p, _p);
        for (var i = 0; i < _p; i++)
        {
            row[i] = (float)values[i];
        }
        _collected++;
    }

    /// <summary>The baseline starts from the kept samples' medians and the spread they settle to.</summary>
    private void Settle()
    {
        var stats = ColumnStatistics.Of(BufferedValues(), _p);
        if (stats.EmptyColumns.Length > 0)
        {
            // A sensor last seen before a refused window: wait until it reports in this one.
            return;
        }
        var fitted = RobustEwmaDetector.Fit(stats.Imputed, _p, _options.StatisticalAlpha, stats.Medians,
            stats.RobustScales);
        fitted.InitialBaseline.CopyTo(_baseline, 0);
        fitted.InitialSpread.CopyTo(_spread, 0);
        fitted.Floor.CopyTo(_floor);
        _settled = true;
    }

    /// <summary>
    /// Fits the ensemble on the full window, or refuses the window and starts collecting a fresh one:
    /// <list type="bullet">
    /// <item>a sensor without any value cannot train a model;</item>
    /// <item>a sensor that never changes (the machine idle, a stuck sensor) would make any later change anomalous;
    /// after <see cref="ConstantWindowRetries"/> such windows the sensor is taken to be constant by design;</item>
    /// <item>a window that does not show the machine's normal variation (its load cycles take longer than the
    /// window): a model fitted on its first half alarms on more than <see cref="RepresentativeLimit"/> of its second
    /// half. The next window keeps every second sample, then every fourth, and so on, until one spans enough of the
    /// machine's life. Meanwhile the baseline keeps scoring.</item>
    /// </list>
    /// The model is fitted on the first half and calibrated on the second (split calibration), so its threshold
    /// holds the target false-positive rate on new data instead of on the rows it was fitted on.
    /// </summary>
    public AnomalyModel? TryLearn()
    {
        var values = BufferedValues();
        var stats = ColumnStatistics.Of(values, _p);
        var constant = stats.EmptyColumns.Length == 0
            && Enumerable.Range(0, _p).Any(i => MachineScorer.IsConstant(stats.Imputed, _p, i));
        if (stats.EmptyColumns.Length == 0 && (!constant || _attempts >= ConstantWindowRetries))
        {
            var times = new double[_collected];
            for (var r = 0; r < times.Length; r++)
            {
                times[r] = _times[r];
            }
            var half = _collected / 2;
            var first = new SensorTable(_names, times[..half], values[..(half * _p)]);
            var second = new SensorTable(_names, times[half..], values[(half * _p)..]);
            // The representativeness test was set on a candidate calibrated on its own rows: kept so.
            if (AnomalyModel.Fit(first, _options, _seed, calibration: null, crossFit: false).Model is { } candidate
                && !IsRepresentative(candidate, second))
            {
                _unrepresentative++;
                Restart();
                return null;
            }
            var model = AnomalyModel.Fit(first, _options, _seed, calibration: second).Model;
            if (model is not null)
            {
                return model;
            }
        }
        _attempts++;
        Restart();
        return null;
    }

    /// <summary>Whether a model fitted on the window's first half stays mostly quiet on its second half.</summary>
    private static bool IsRepresentative(AnomalyModel candidate, SensorTable second)
    {
        var scorer = candidate.CreateScorer();
        var alarms = 0;
        for (var r = 0; r < second.RowCount; r++)
        {
            var score = scorer.Score(second.Row(r), second.Times[r]);
            alarms += score.Score > score.Threshold ? 1 : 0;
        }
        return alarms <= RepresentativeLimit * second.RowCount;
    }

    private void Restart()
    {
        _collected = 0;
        _sinceKept = 0;
        _origin = double.NaN;
    }

    /// <summary>Brings a new scorer's state (last values, lags, baselines) up to now by scoring the window.</summary>
    public void Replay(MachineScorer scorer)
    {
        Span<double> row = stackalloc double[_p];
        for (var r = 0; r < _collected; r++)
        {
            for (var i = 0; i < _p; i++)
            {
                row[i] = _values[(r * _p) + i];
            }
            scorer.Score(row, _origin + _times[r]);
        }
    }

    private double[] BufferedValues()
    {
        var values = new double[_collected * _p];
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = _values[k];
        }
        return values;
    }

    /// <summary>A hash of what the state depends on: sensors, window, seed and options.</summary>
    private ulong Configuration()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(_p);
            foreach (var name in _names)
            {
                writer.Write(name);
            }
            writer.Write(_window);
            writer.Write(_minimumSpan.Ticks);
            writer.Write(_seed);
            var o = _options;
            writer.Write(o.Weights.IsolationForest);
            writer.Write(o.Weights.Statistical);
            writer.Write(o.Weights.Temporal);
            writer.Write(o.TargetFalsePositiveRate);
            writer.Write(o.Trees);
            writer.Write(o.SubsampleSize);
            writer.Write(o.TemporalLags);
            writer.Write(o.TemporalRidge);
            writer.Write(o.StatisticalAlpha);
            writer.Write(o.LevelAlpha);
            writer.Write(o.UsePca);
            writer.Write(o.PcaVarianceExplained);
            writer.Write(o.GapFactor);
            writer.Write(o.IsoZones?.ToString() ?? "");
            foreach (var i in _vibration)
            {
                writer.Write(i);
            }
        }
        return AnomalyModel.Fnv1a(stream.GetBuffer().AsSpan(0, (int)stream.Length));
    }

    public static bool IsWarmupState(ReadOnlySpan<byte> saved) =>
        saved.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(saved) == StateMagic;

    public byte[] SaveState()
    {
        var bytes = new byte[StateBytes];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, StateMagic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], StateVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], _configuration);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], _p);
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], _collected);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], _attempts);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], _settled ? 1 : 0);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], _unrepresentative);
        BinaryPrimitives.WriteInt32LittleEndian(span[36..], _sinceKept);
        BinaryPrimitives.WriteInt32LittleEndian(span[40..], _baseStride);
        BinaryPrimitives.WriteDoubleLittleEndian(span[44..], _origin);
        var at = StateHeaderBytes;
        foreach (var array in (double[][])[_last, _baseline, _spread, _floor])
        {
            foreach (var v in array)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(span[at..], v);
                at += sizeof(double);
            }
        }
        for (var r = 0; r < _collected; r++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[at..], _times[r]);
            at += sizeof(float);
        }
        for (var k = 0; k < _collected * _p; k++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[at..], _values[k]);
            at += sizeof(float);
        }
        return bytes;
    }

    /// <summary>Restores a state saved by a warm-up of the same configuration; anything else is refused with the reason.</summary>
    public bool TryRestoreState(ReadOnlySpan<byte> saved, out string? error)
    {
        if (saved.Length < StateHeaderBytes || !IsWarmupState(saved))
        {
            error = "not a warm-up state";
            return false;
        }
        var version = BinaryPrimitives.ReadInt32LittleEndian(saved[4..]);
        if (version != StateVersion)
        {
            error = $"warm-up state version {version} is not supported (this build reads version {StateVersion})";
            return false;
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(saved[8..]) != _configuration)
        {
            error = "the warm-up state was saved with other sensors, seed, options or warm-up length";
            return false;
        }
        var collected = BinaryPrimitives.ReadInt32LittleEndian(saved[20..]);
        var attempts = BinaryPrimitives.ReadInt32LittleEndian(saved[24..]);
        var settled = BinaryPrimitives.ReadInt32LittleEndian(saved[28..]);
        var unrepresentative = BinaryPrimitives.ReadInt32LittleEndian(saved[32..]);
        var sinceKept = BinaryPrimitives.ReadInt32LittleEndian(saved[36..]);
        var baseStride = BinaryPrimitives.ReadInt32LittleEndian(saved[40..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(saved[16..]) != _p || collected < 0 || collected >= _window
            || attempts < 0 || settled is not (0 or 1) || unrepresentative < 0 || baseStride is < 0 or > MaxBaseStride || sinceKept < 0
            || sinceKept >= StrideOf(baseStride, unrepresentative)
            || saved.Length != StateHeaderBytes + (4 * _p * sizeof(double)) + (collected * (_p + 1) * sizeof(float)))
        {
            error = "the warm-up state is damaged: its counts do not match its size";
            return false;
        }
        _collected = collected;
        _attempts = attempts;
        _settled = settled == 1;
        _unrepresentative = unrepresentative;
        _sinceKept = sinceKept;
        _baseStride = baseStride;
        _origin = BinaryPrimitives.ReadDoubleLittleEndian(saved[44..]);
        var at = StateHeaderBytes;
        foreach (var array in (double[][])[_last, _baseline, _spread, _floor])
        {
            for (var i = 0; i < array.Length; i++)
            {
                array[i] = BinaryPrimitives.ReadDoubleLittleEndian(saved[at..]);
                at += sizeof(double);
            }
        }
        for (var r = 0; r < collected; r++)
        {
            _times[r] = BinaryPrimitives.ReadSingleLittleEndian(saved[at..]);
            at += sizeof(float);
        }
        for (var k = 0; k < collected * _p; k++)
        {
            _values[k] = BinaryPrimitives.ReadSingleLittleEndian(saved[at..]);
            at += sizeof(float);
        }
        error = null;
        return true;
    }
}
