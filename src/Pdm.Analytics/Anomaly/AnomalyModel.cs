using Pdm.Telemetry;
using System.Text;
using Pdm.Analytics.Data;

namespace Pdm.Analytics.Anomaly;

/// <summary>
/// The fitted anomaly ensemble of one machine: robust EWMA and PCA (the statistical part), an isolation forest over
/// each sensor's value and its departure from a rolling level, and a vector-autoregressive temporal model; each part's raw score
/// calibrated to surprise on the normal training data, the weighted mean thresholded at the target false-positive
/// rate, plus an ISO 10816 zone check on vibration that needs no training. Immutable; score with
/// <see cref="CreateScorer"/>, one scorer per machine.
/// <para>Missing values (NaN, infinities) are replaced by the sensor's last value (the training median before any).</para>
/// </summary>
public sealed class AnomalyModel
{
    /// <summary>Fewer rows cannot calibrate a 1% tail.</summary>
    public const int MinTrainingRows = 100;

    internal const int RawRobust = 0;
    internal const int RawForest = 1;
    internal const int RawT2 = 2;
    internal const int RawQ = 3;
    internal const int RawTemporal = 4;
    internal const int RawCount = 5;

    /// <summary>Blocks of consecutive rows the cross-fitting deals out to its folds in turn.</summary>
    private const int CrossFitBlocks = 8;

    private const int CrossFitFolds = 2;

    private const int FormatVersion = 1;
    private static readonly byte[] Magic = "PDMANOM1"u8.ToArray();

    private readonly string[] _names;
    private readonly double[] _medians;
    private readonly int[] _vibration;
    private readonly SurpriseCalibrator?[] _calibrators = new SurpriseCalibrator?[RawCount];

    private AnomalyModel(string[] names, AnomalyWeights weights, double targetRate, double gapSeconds,
        double levelAlpha, double[] medians, IsoZoneBoundaries? iso, int[] vibration, RobustEwmaDetector robust,
        PcaDetector? pca, TemporalDetector temporal, IsolationForest forest)
    {
        _names = names;
        Weights = weights;
        TargetFalsePositiveRate = targetRate;
        GapSeconds = gapSeconds;
        LevelAlpha = levelAlpha;
        _medians = medians;
        IsoZones = iso;
        _vibration = vibration;
        Robust = robust;
        Pca = pca;
        Temporal = temporal;
        Forest = forest;
    }

    public IReadOnlyList<string> FeatureNames => _names;

    public AnomalyWeights Weights { get; }

    public double TargetFalsePositiveRate { get; }

    /// <summary>Ensemble score above which a sample is anomalous; the (1 - target rate) quantile on training data.</summary>
    public double Threshold { get; private set; }

    public IsoZoneBoundaries? IsoZones { get; }

    /// <summary>Features the ISO zone check looks at.</summary>
    public IReadOnlyList<string> VibrationSensors => [.. _vibration.Select(i => _names[i])];

    /// <summary>FNV-1a of the model bytes; a saved machine state only restores into the model it came from.</summary>
    public ulong Fingerprint { get; private set; }

    internal double GapSeconds { get; }

    internal double LevelAlpha { get; }

    internal ReadOnlySpan<double> Medians => _medians;

    internal ReadOnlySpan<int> VibrationIndices => _vibration;

    internal RobustEwmaDetector Robust { get; }

    internal PcaDetector? Pca { get; }

    internal TemporalDetector Temporal { get; }

    internal IsolationForest Forest { get; }

    internal SurpriseCalibrator? Calibrator(int raw) => _calibrators[raw];

    public MachineScorer CreateScorer() => new(this, null);

    /// <summary>
    /// A scorer that judges vibration by <paramref name="zones"/> instead of the table the model was trained with: the
    /// machine's own ISO class, which a model shared by a fleet cannot know. A model trained without a zone check
    /// (vibration not in mm/s) keeps it off.
    /// </summary>
    public MachineScorer CreateScorer(IsoZoneBoundaries? zones) => new(this, zones);

    /// <summary>
    /// Fits on normal data (rows in time order). Deterministic: the same table, options and seed give the same
    /// model bytes. Bad input (too few rows, a column without values, invalid options) is reported in the result.
    /// </summary>
    /// <param name="calibration">
    /// Normal rows the detectors were not fitted on, to calibrate the surprises and the threshold on (split
    /// calibration: the false-positive rate then holds on new data, where calibrating on the training rows is
    /// optimistic for small tables). Null calibrates on the training rows as scored by detectors fitted on the other
    /// half of the table (cross-fitting), for the same reason.
    /// </param>
    public static AnomalyFitResult Fit(SensorTable table, AnomalyOptions? options = null, ulong seed = 0,
        SensorTable? calibration = null) => Fit(table, options, seed, calibration, crossFit: true);

    /// <param name="crossFit">Without a calibration table, calibrate on cross-fitted scores (false: on the training rows' own).</param>
    internal static AnomalyFitResult Fit(SensorTable table, AnomalyOptions? options, ulong seed, SensorTable? calibration,
        bool crossFit)
    {
        ArgumentNullException.ThrowIfNull(table);
        options ??= new AnomalyOptions();
        var errors = new List<string>(options.Validate());
        var warnings = new List<string>();
        var rows = table.RowCount;
        if (rows < MinTrainingRows)
        {
            errors.Add($"training needs at least {MinTrainingRows} rows, the table has {rows}");
        }
        if (calibration is not null && !calibration.FeatureNames.SequenceEqual(table.FeatureNames))
        {
            errors.Add("the calibration table must have the training table's columns, in the same order");
        }
        if (errors.Count > 0)
        {
            return new AnomalyFitResult(null, errors, warnings);
        }

        var built = Build(table, options, seed, warnings);
        if (built.Model is not { } model)
        {
            return new AnomalyFitResult(null, built.Errors, warnings);
        }
        model.Calibrate(calibration is not null ? model.RawScores(calibration)
            : (crossFit ? CrossFittedRawScores(table, options, seed) : null) ?? model.RawScores(table));
        model.CheckCalibration(calibration ?? table, warnings);
        return new AnomalyFitResult(model, [], warnings);
    }

    /// <summary>The detectors fitted on <paramref name="table"/>, not yet calibrated; or why not.</summary>
    private static AnomalyFitResult Build(SensorTable table, AnomalyOptions options, ulong seed, List<string>? warnings)
    {
        var p = table.ColumnCount;
        var stats = ColumnStatistics.Of(table.Values, p);
        if (stats.EmptyColumns.Length > 0)
        {
            return new AnomalyFitResult(null,
                [.. stats.EmptyColumns.Select(i => $"column '{table.FeatureNames[i]}' has no values")], []);
        }
        var medians = stats.Medians;
        var imputed = stats.Imputed;
        for (var i = 0; i < p && warnings is not null; i++)
        {
            if (MachineScorer.IsConstant(imputed, p, i))
            {
                warnings.Add($"column '{table.FeatureNames[i]}' is constant in the training data; " +
                    "any change in it will score as anomalous");
            }
        }

        var gapSeconds = GapThreshold(table.Times, options.GapFactor);
        var stretchStart = StretchStarts(table.Times, gapSeconds);
        var robust = RobustEwmaDetector.Fit(imputed, p, options.StatisticalAlpha, medians, stats.RobustScales);
        var pca = options.UsePca ? PcaDetector.Fit(imputed, p, stats.Mean, stats.Scale, options.PcaVarianceExplained) : null;
        var temporal = TemporalDetector.Fit(imputed, p, options.TemporalLags, options.TemporalRidge, stats.Mean, stats.Scale,
            stretchStart);
        var features = ForestFeatures(imputed, p, stretchStart, options.LevelAlpha);
        var forest = IsolationForest.Fit(features, MachineScorer.ForestFeaturesPerSensor * p, options.Trees, options.SubsampleSize, seed);

        var names = table.FeatureNames.ToArray();
        var vibration = VibrationColumns(names, options);
        return new AnomalyFitResult(new AnomalyModel(names, options.Weights, options.TargetFalsePositiveRate, gapSeconds,
            options.LevelAlpha, medians, options.IsoZones, vibration, robust, pca, temporal, forest), [], []);
    }

    /// <summary>
    /// Raw scores of every training row from detectors that did not see it (2-fold cross-fitting). Scores of the rows
    /// a model was fitted on are optimistic (the temporal model and PCA fit their own noise, the isolation forest
    /// isolates its own points late), and a threshold calibrated on them alarms far above the target rate on new
    /// data of the same machine. The folds alternate blocks of consecutive rows, so each is fitted on the whole span
    /// (both halves of a day, not one half); the jump between blocks is a gap to the scorer, which restarts its lag
    /// history there. Null when a fold cannot be fitted.
    /// </summary>
    private static double[][]? CrossFittedRawScores(SensorTable table, AnomalyOptions options, ulong seed)
    {
        var rows = table.RowCount;
        var fold = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            fold[r] = (int)((long)r * CrossFitBlocks / rows) % CrossFitFolds;
        }
        var raw = new double[RawCount][];
        for (var d = 0; d < RawCount; d++)
        {
            raw[d] = new double[rows];
        }
        for (var f = 0; f < CrossFitFolds; f++)
        {
            var fitted = table.Rows([.. Enumerable.Range(0, rows).Where(r => fold[r] != f)]);
            int[] held = [.. Enumerable.Range(0, rows).Where(r => fold[r] == f)];
            if (Build(fitted, options, seed + 1 + (ulong)f, null).Model is not { } model)
            {
                return null;
            }
            var scores = model.RawScores(table.Rows(held));
            for (var d = 0; d < RawCount; d++)
            {
                for (var i = 0; i < held.Length; i++)
                {
                    raw[d][held[i]] = scores[d][i];
                }
            }
        }
        return raw;
    }

    /// <summary>Each detector's raw score of every row of <paramref name="table"/>, scored in order from a fresh state.</summary>
    private double[][] RawScores(SensorTable table)
    {
        var rows = table.RowCount;
        var raw = new double[RawCount][];
        for (var d = 0; d < RawCount; d++)
        {
            raw[d] = new double[rows];
        }
        var scorer = CreateScorer();
        Span<double> sample = stackalloc double[RawCount];
        var times = table.Times;
        for (var r = 0; r < rows; r++)
        {
            scorer.ScoreRaw(table.Row(r), times[r], sample, out _);
            for (var d = 0; d < RawCount; d++)
            {
                raw[d][r] = sample[d];
            }
        }
        return raw;
    }

    /// <summary>Calibrates each part's surprise and the ensemble threshold on normal raw scores.</summary>
    private void Calibrate(double[][] raw)
    {
        var rows = raw[0].Length;
        for (var d = 0; d < RawCount; d++)
        {
            _calibrators[d] = Pca is null && d is RawT2 or RawQ ? null : SurpriseCalibrator.Fit(raw[d]);
        }

        var ensemble = new double[rows];
        Span<double> sample = stackalloc double[RawCount];
        Span<double> surprise = stackalloc double[RawCount];
        for (var r = 0; r < rows; r++)
        {
            for (var d = 0; d < RawCount; d++)
            {
                sample[d] = raw[d][r];
            }
            ensemble[r] = Combine(Surprises(sample, surprise), out _);
        }
        Array.Sort(ensemble);
        Threshold = Numerics.Quantile(ensemble, 1 - TargetFalsePositiveRate);
        Fingerprint = Fnv1a(ToBytes());
    }

    private void CheckCalibration(SensorTable table, List<string> warnings)
    {
        var rows = table.RowCount;
        if (rows * TargetFalsePositiveRate < 10)
        {
            warnings.Add($"the threshold rests on fewer than 10 of the {rows} training rows; " +
                "more normal data makes the false-positive rate more reliable");
        }
        if (IsoZones is null)
        {
            return;
        }
        var inZoneC = 0;
        for (var r = 0; r < rows; r++)
        {
            inZoneC += IsoZones.Highest(table.Row(r), _vibration) >= VibrationZone.C ? 1 : 0;
        }
        if (inZoneC > 0.01 * rows)
        {
            warnings.Add($"{100.0 * inZoneC / rows:0.0}% of the normal training rows have vibration in ISO zone C " +
                $"or D for {IsoZones.Name}; check the machine group or the vibration units (mm/s RMS)");
        }
    }

    /// <summary>Surprise of each raw score (RobustEwma, Forest, T2, Q, Temporal order).</summary>
    internal Span<double> Surprises(ReadOnlySpan<double> raw, Span<double> surprise)
    {
        for (var d = 0; d < RawCount; d++)
        {
            surprise[d] = _calibrators[d]?.Surprise(raw[d]) ?? 0;
        }
        return surprise;
    }

    /// <summary>The ensemble score from part surprises; <paramref name="statistical"/> = max(robust, PCA).</summary>
    internal double Combine(ReadOnlySpan<double> surprise, out double statistical)
    {
        statistical = Math.Max(surprise[RawRobust], Math.Max(surprise[RawT2], surprise[RawQ]));
        var w = Weights;
        return ((w.IsolationForest * surprise[RawForest]) + (w.Statistical * statistical)
            + (w.Temporal * surprise[RawTemporal])) / w.Total;
    }

    private static double GapThreshold(ReadOnlySpan<double> times, double factor)
    {
        var steps = new List<double>(times.Length);
        for (var r = 1; r < times.Length; r++)
        {
            var step = times[r] - times[r - 1];
            if (step > 0)
            {
                steps.Add(step);
            }
        }
        if (steps.Count == 0)
        {
            return double.PositiveInfinity;
        }
        var span = steps.ToArray().AsSpan();
        return factor * Numerics.Median(span);
    }

    private static int[] StretchStarts(ReadOnlySpan<double> times, double gapSeconds)
    {
        var starts = new int[times.Length];
        for (var r = 1; r < times.Length; r++)
        {
            starts[r] = MachineScorer.StartsStretch(times[r - 1], times[r], gapSeconds) ? r : starts[r - 1];
        }
        return starts;
    }

    internal static double[] ForestFeatures(double[] imputed, int p, int[] stretchStart, double levelAlpha)
    {
        var rows = imputed.Length / p;
        var width = MachineScorer.ForestFeaturesPerSensor * p;
        var features = new double[rows * width];
        var level = new double[p];
        for (var r = 0; r < rows; r++)
        {
            var x = imputed.AsSpan(r * p, p);
            if (stretchStart[r] == r)
            {
                x.CopyTo(level);
            }
            MachineScorer.ForestFeatures(x, level, levelAlpha, features.AsSpan(r * width, width));
        }
        return features;
    }

    internal static int[] VibrationColumns(IReadOnlyList<string> names, AnomalyOptions options)
    {
        if (options.IsoZones is null)
        {
            return [];
        }
        var chosen = options.VibrationSensors;
        return [.. Enumerable.Range(0, names.Count).Where(i => chosen is null
            ? IsoZoneBoundaries.IsVibrationSensor(names[i])
            : chosen.Contains(names[i]))];
    }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>Writes the versioned binary model: magic, format version, then every part.</summary>
    public void WriteTo(Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(_names.Length);
        foreach (var name in _names)
        {
            writer.Write(name);
        }
        writer.Write(Weights.IsolationForest);
        writer.Write(Weights.Statistical);
        writer.Write(Weights.Temporal);
        writer.Write(TargetFalsePositiveRate);
        writer.Write(Threshold);
        writer.Write(GapSeconds);
        writer.Write(LevelAlpha);
        ModelFormat.WriteDoubles(writer, _medians);
        writer.Write(IsoZones is not null);
        if (IsoZones is not null)
        {
            writer.Write(IsoZones.Name);
            writer.Write(IsoZones.BoundaryAB);
            writer.Write(IsoZones.BoundaryBC);
            writer.Write(IsoZones.BoundaryCD);
        }
        writer.Write(_vibration.Length);
        foreach (var index in _vibration)
        {
            writer.Write(index);
        }
        Robust.Write(writer);
        Temporal.Write(writer);
        Forest.Write(writer);
        writer.Write(Pca is not null);
        Pca?.Write(writer);
        foreach (var calibrator in _calibrators)
        {
            writer.Write(calibrator is not null);
            calibrator?.Write(writer);
        }
    }

    public static AnomalyModelReadResult ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Read(copy.GetBuffer().AsSpan(0, (int)copy.Length));
    }

    /// <summary>Reads a model written by <see cref="WriteTo"/>; a foreign, truncated or damaged file is an error result.</summary>
    public static AnomalyModelReadResult Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Magic.Length + 4 || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            return new AnomalyModelReadResult(null, "not an anomaly model file (no PDMANOM header)");
        }
        var data = bytes.ToArray();
        using var reader = new BinaryReader(new MemoryStream(data), Encoding.UTF8);
        try
        {
            reader.ReadBytes(Magic.Length);
            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                return new AnomalyModelReadResult(null,
                    $"anomaly model format version {version} is not supported (this build reads version {FormatVersion})");
            }
            var p = ModelFormat.ReadCount(reader, 1, 4096, "features");
            var names = new string[p];
            for (var i = 0; i < p; i++)
            {
                names[i] = reader.ReadString();
            }
            var weights = new AnomalyWeights(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble());
            var targetRate = reader.ReadDouble();
            var threshold = reader.ReadDouble();
            var gapSeconds = reader.ReadDouble();
            var levelAlpha = reader.ReadDouble();
            var medians = ModelFormat.ReadDoubles(reader, p);
            var iso = reader.ReadBoolean()
                ? new IsoZoneBoundaries(reader.ReadString(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble())
                : null;
            var vibration = new int[ModelFormat.ReadCount(reader, 0, p, "vibration sensors")];
            for (var i = 0; i < vibration.Length; i++)
            {
                vibration[i] = ModelFormat.ReadCount(reader, 0, p - 1, "vibration sensor index");
            }
            var robust = RobustEwmaDetector.Read(reader, p);
            var temporal = TemporalDetector.Read(reader, p);
            var forest = IsolationForest.Read(reader, MachineScorer.ForestFeaturesPerSensor * p);
            var pca = reader.ReadBoolean() ? PcaDetector.Read(reader, p) : null;
            var model = new AnomalyModel(names, weights, targetRate, gapSeconds, levelAlpha, medians, iso, vibration,
                robust, pca, temporal, forest);
            for (var d = 0; d < RawCount; d++)
            {
                model._calibrators[d] = reader.ReadBoolean() ? SurpriseCalibrator.Read(reader) : null;
            }
            if (reader.BaseStream.Position != data.Length)
            {
                return new AnomalyModelReadResult(null, "anomaly model file has trailing bytes");
            }
            model.Threshold = threshold;
            model.Fingerprint = Fnv1a(data);
            return new AnomalyModelReadResult(model, null);
        }
        catch (EndOfStreamException)
        {
            return new AnomalyModelReadResult(null, "anomaly model file is truncated");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            return new AnomalyModelReadResult(null, $"anomaly model file is damaged: {e.Message}");
        }
    }

    internal static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return hash;
    }
}

/// <summary>A model read from bytes, or why it could not be.</summary>
public sealed record AnomalyModelReadResult(AnomalyModel? Model, string? Error)
{
    public bool IsSuccess => Model is not null;
}
