using Pdm.Telemetry;

namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Scores one machine from its first sample, with or without a trained model.
/// <list type="bullet">
/// <item><see cref="ForModel"/>: the full ensemble of a trained model (<see cref="MachineScorer"/>) from the first sample.</item>
/// <item><see cref="WarmingUp"/>: baseline scoring that needs no training (robust EWMA per sensor with a threshold
/// derived from a heavy-tailed assumption, and the ISO 10816 zone check; see <see cref="WarmupScorer"/>) while the
/// first samples are kept. The ensemble parts that are not running yet (isolation forest, PCA, temporal) are 0 in
/// the <see cref="AnomalyScore"/>, and the score is the robust detector's alone. The first
/// <see cref="SettleSamples"/> samples only settle the baseline: they can alarm through the zone check alone. The
/// window keeps every k-th sample so that it spans the minimum span. Once it is full the ensemble is fitted on its
/// first half and calibrated on its second (<see cref="AnomalyModel.Fit"/> with the given options and seed, so the
/// same samples give the same model) and scores from the next sample on; that one call takes as long as the fits
/// (milliseconds). A window that cannot train a useful model, or does not show the machine's normal variation, is
/// dropped and a fresh (wider) one collected.</item>
/// </list>
/// <para>Checkpoints: <see cref="SaveState()"/> at any sample, restored with <see cref="TryRestoreState"/> into a
/// tracker built the same way, continues with bit-identical scores. A state saved while warming up restores into
/// <see cref="WarmingUp"/> with the same sensors, seed, options and window. Once warmed up the state is the
/// <see cref="MachineScorer"/> state of <see cref="LearnedModel"/> and restores into
/// <c>ForModel(LearnedModel)</c> (the model read back from its bytes will do): persist the learned model before
/// the first state saved after the switch.</para>
/// Missing values (NaN) are carried from the sensor's last value; a sample with no value at all is not kept for
/// training. Not thread-safe: one tracker per machine, one sample at a time.
/// </summary>
public sealed class MachineAnomalyTracker
{
    public const int DefaultWarmupSamples = 512;

    /// <summary>Kept samples (with every sensor seen) that settle the baseline before it may alarm.</summary>
    public const int SettleSamples = 30;

    private MachineScorer? _scorer;
    private WarmupScorer? _warmup;

    // The warm-up's contributions to the sample that completed it, until the next sample.
    private double[]? _switchContributions;

    private MachineAnomalyTracker(IReadOnlyList<string> sensors, MachineScorer? scorer, WarmupScorer? warmup)
    {
        Sensors = sensors;
        _scorer = scorer;
        _warmup = warmup;
    }

    /// <summary>
    /// The sensors a warming-up tracker should score: all but running totals (<see cref="SensorCatalog.IsCumulative"/>),
    /// unless nothing else is left. A level that only grows is never "normal": with a counter among its sensors every
    /// warm-up window looked unlike the one before it and the machine never got a learned model.
    /// </summary>
    public static string[] ScoredSensors(IEnumerable<string> sensors)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        string[] all = [.. sensors];
        string[] levels = [.. all.Where(s => !SensorCatalog.IsCumulative(s))];
        return levels.Length > 0 ? levels : all;
    }

    /// <summary>
    /// Scores with the full ensemble of a trained model from the first sample; vibration is judged by
    /// <paramref name="zones"/> when given (the machine's ISO class), else by the model's own table.
    /// </summary>
    public static MachineAnomalyTracker ForModel(AnomalyModel model, IsoZoneBoundaries? zones = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new MachineAnomalyTracker(model.FeatureNames, model.CreateScorer(zones), null);
    }

    /// <summary>
    /// Scores with the baseline detectors while it collects <paramref name="warmupSamples"/> samples spread over at
    /// least <paramref name="minimumSpan"/> (zero: consecutive samples), then fits the ensemble on them, unless the
    /// window proves unrepresentative (see <c>WarmupScorer.TryLearn</c>). Invalid arguments (no sensors, a repeated
    /// name, too short a window, a negative span, invalid options) throw.
    /// </summary>
    public static MachineAnomalyTracker WarmingUp(IReadOnlyList<string> sensors, ulong seed,
        AnomalyOptions? options = null, int warmupSamples = DefaultWarmupSamples, TimeSpan minimumSpan = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumSpan, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(sensors);
        options ??= new AnomalyOptions();
        string[] names = [.. sensors];
        if (names.Length == 0 || names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            throw new ArgumentException("sensors must be a non-empty list of distinct names", nameof(sensors));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(warmupSamples, AnomalyModel.MinTrainingRows);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }
        return new MachineAnomalyTracker(names, null, new WarmupScorer(names, seed, options, warmupSamples, minimumSpan));
    }

    /// <summary>The order <see cref="Score"/> expects values in.</summary>
    public IReadOnlyList<string> Sensors { get; }

    /// <summary>The model scoring now; null while warming up.</summary>
    public AnomalyModel? Model => _scorer?.Model;

    public bool IsWarmingUp => _scorer is null;

    /// <summary>Samples kept in the current warm-up window; 0 once a model scores.</summary>
    internal int WarmupCollected => _warmup?.Collected ?? 0;

    /// <summary>
    /// The model this tracker fitted at the end of its warm-up (null before, and for <see cref="ForModel"/>);
    /// stays set. The caller persists it once, to restore later states with <c>ForModel</c>.
    /// </summary>
    public AnomalyModel? LearnedModel { get; private set; }

    /// <summary>Bytes <see cref="SaveState()"/> would write now: the warm-up window grows it, the switch shrinks it.</summary>
    public int StateBytes => _scorer?.StateBytes ?? _warmup!.StateBytes;

    /// <summary>Per-sensor contributions to the last score, in score units; they add up to the score.</summary>
    public ReadOnlySpan<double> Contributions =>
        _switchContributions ?? (_scorer is not null ? _scorer.Contributions : _warmup!.Contributions);

    /// <summary>
    /// Fills <paramref name="top"/> with the indices (in <see cref="Sensors"/> order) of the sensors that contributed
    /// most to the last score, largest first, positive contributions only; returns how many it filled. On a tie the
    /// earlier sensor comes first. Allocates nothing: ingest calls it for every sample.
    /// </summary>
    public int LargestContributions(Span<int> top)
    {
        var contributions = Contributions;
        var count = 0;
        for (var i = 0; i < contributions.Length; i++)
        {
            if (!(contributions[i] > 0))
            {
                continue;
            }
            // Insertion into the short sorted list; a later sensor must be strictly larger to move ahead.
            var at = count;
            while (at > 0 && contributions[i] > contributions[top[at - 1]])
            {
                at--;
            }
            if (at >= top.Length)
            {
                continue;
            }
            for (var k = Math.Min(count, top.Length - 1); k > at; k--)
            {
                top[k] = top[k - 1];
            }
            top[at] = i;
            count = Math.Min(count + 1, top.Length);
        }
        return count;
    }

    /// <summary>Scores one sample: values in <see cref="Sensors"/> order (NaN = missing), time in seconds (NaN if unknown).</summary>
    public AnomalyScore Score(ReadOnlySpan<double> values, double timeSeconds)
    {
        _switchContributions = null;
        if (_scorer is not null)
        {
            return _scorer.Score(values, timeSeconds);
        }
        var warmup = _warmup!;
        var score = warmup.Score(values, timeSeconds);
        if (warmup.IsFull && warmup.TryLearn() is { } model)
        {
            var scorer = model.CreateScorer();
            warmup.Replay(scorer);
            _switchContributions = warmup.Contributions.ToArray();
            _scorer = scorer;
            _warmup = null;
            LearnedModel = model;
        }
        return score;
    }

    public byte[] SaveState() => _scorer?.SaveState() ?? _warmup!.SaveState();

    /// <summary>
    /// Restores a state saved by a tracker built the same way (see the class remarks); anything else is refused
    /// with the reason and leaves this tracker as it was.
    /// </summary>
    public bool TryRestoreState(ReadOnlySpan<byte> saved, out string? error)
    {
        _switchContributions = null;
        if (WarmupScorer.IsWarmupState(saved))
        {
            if (_warmup is null)
            {
                error = LearnedModel is null
                    ? "the state was saved while warming up: restore it into a tracker made by WarmingUp"
                    : "this tracker has finished its warm-up: restore a warm-up state into a new WarmingUp tracker";
                return false;
            }
            return _warmup.TryRestoreState(saved, out error);
        }
        if (_scorer is null)
        {
            error = "the state was saved after warm-up: restore it into ForModel with the model learned in warm-up";
            return false;
        }
        return _scorer.TryRestoreState(saved, out error);
    }
}
