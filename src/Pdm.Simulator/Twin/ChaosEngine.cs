using Pdm.Telemetry;

namespace Pdm.Simulator.Twin;

/// <summary>The faults of the measurement chain (not of the machine) the chaos engine injects.</summary>
public enum ChaosKind
{
    /// <summary>A short spike on one vibration axis.</summary>
    VibrationGlitch,

    /// <summary>Temperature drifts up by <see cref="ChaosOptions.HeatWaveCelsius"/> and back: hot weather, not wear.</summary>
    HeatWave,

    /// <summary>A sensor repeats its last reported value.</summary>
    StuckSensor,

    /// <summary>A sensor reports nothing: its value is missing from the sample.</summary>
    DroppedSensor,
}

/// <summary>
/// How often and how long the chaos engine injects. A rate is the chance per sample that an injection of that
/// kind starts on a machine that has none of that kind running; lengths are in samples.
/// </summary>
public sealed record ChaosOptions
{
    public double GlitchRate { get; init; }
    public double HeatWaveRate { get; init; }
    public double StuckRate { get; init; }
    public double DropRate { get; init; }

    /// <summary>A glitch lasts 1 to this many samples.</summary>
    public int GlitchSamples { get; init; } = 3;

    /// <summary>A glitch multiplies the axis by this factor, ±25 %.</summary>
    public double GlitchFactor { get; init; } = 4;

    /// <summary>A heat wave lasts this many samples: a third rising, a third at the peak, a third falling.</summary>
    public int HeatWaveSamples { get; init; } = 120;

    public double HeatWaveCelsius { get; init; } = 15;

    /// <summary>A stuck sensor stays stuck for half this to this many samples.</summary>
    public int StuckSamples { get; init; } = 20;

    /// <summary>A dropped sensor is missing for 1 to this many samples.</summary>
    public int DropSamples { get; init; } = 5;

    /// <summary>Every kind of injection at the same rate, default lengths.</summary>
    public static ChaosOptions Uniform(double rate) => new()
    {
        GlitchRate = rate,
        HeatWaveRate = rate,
        StuckRate = rate,
        DropRate = rate,
    };

    /// <summary>Null when usable, else what is wrong (the option and why).</summary>
    public string? Validate()
    {
        foreach (var (name, rate) in new[] { ("GlitchRate", GlitchRate), ("HeatWaveRate", HeatWaveRate), ("StuckRate", StuckRate), ("DropRate", DropRate) })
        {
            if (!(rate is >= 0 and <= 1))
            {
                return $"{name} is {rate}: a chance per sample must be between 0 and 1";
            }
        }
        foreach (var (name, samples) in new[] { ("GlitchSamples", GlitchSamples), ("HeatWaveSamples", HeatWaveSamples), ("StuckSamples", StuckSamples), ("DropSamples", DropSamples) })
        {
            if (samples < 1)
            {
                return $"{name} is {samples}: an injection lasts at least 1 sample";
            }
        }
        return double.IsFinite(GlitchFactor) && GlitchFactor > 0 && double.IsFinite(HeatWaveCelsius)
            ? null
            : "GlitchFactor must be a positive number and HeatWaveCelsius a number";
    }
}

/// <summary>
/// Injects measurement faults into one machine's twin samples, seeded, and labels every affected sample in
/// <see cref="TwinTruth.Chaos"/>: the machine's truth (wear, state, RUL) is left alone, so a detector that raises
/// an alarm on a labelled sample fell for the chaos. A dropped sensor is left out of <see cref="TwinSample.Values"/>
/// (not NaN): that is what goes over the wire, where a NaN would be refused. One engine per machine; feed it the
/// machine's samples in time order. Not thread-safe.
/// </summary>
public sealed class ChaosEngine
{
    private readonly ChaosOptions _options;
    private readonly Random _random;
    private readonly Dictionary<string, double> _lastReported = new(StringComparer.Ordinal);
    private readonly Injection?[] _active = new Injection?[4];

    public ChaosEngine(ChaosOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problem = options.Validate();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }
        _options = options;
        _random = new Random(seed);
    }

    public TwinSample Apply(TwinSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var values = sample.Values.ToDictionary(v => v.Sensor, v => v.Value, StringComparer.Ordinal);
        var labels = new List<ChaosLabel>();
        foreach (var kind in Enum.GetValues<ChaosKind>())
        {
            // Always draw, so the stream (and every later injection) does not depend on what else is running.
            var start = _random.NextDouble() < RateOf(kind);
            ref var injection = ref _active[(int)kind];
            if (injection is { Remaining: <= 0 })
            {
                injection = null;
            }
            if (injection is null && start)
            {
                injection = TryStart(kind, sample.Values);
            }
            if (injection is { } active)
            {
                Inject(active, values);
                labels.Add(new ChaosLabel(kind, active.Sensor));
                injection = active with { Remaining = active.Remaining - 1 };
            }
        }
        var reported = new List<SensorValue>(sample.Values.Count);
        foreach (var (sensor, _) in sample.Values)
        {
            if (values.TryGetValue(sensor, out var value))
            {
                reported.Add(new SensorValue(sensor, value));
                _lastReported[sensor] = value;
            }
        }
        return labels.Count == 0
            ? sample with { Values = reported }
            : sample with { Values = reported, Truth = sample.Truth with { Chaos = labels } };
    }

    private double RateOf(ChaosKind kind) => kind switch
    {
        ChaosKind.VibrationGlitch => _options.GlitchRate,
        ChaosKind.HeatWave => _options.HeatWaveRate,
        ChaosKind.StuckSensor => _options.StuckRate,
        _ => _options.DropRate,
    };

    private Injection? TryStart(ChaosKind kind, IReadOnlyList<SensorValue> values)
    {
        var busy = _active.OfType<Injection>().Select(i => i.Sensor).ToHashSet(StringComparer.Ordinal);
        var candidates = values.Select(v => v.Sensor).Where(s => !busy.Contains(s) && kind switch
        {
            ChaosKind.VibrationGlitch => s.StartsWith("vibration", StringComparison.Ordinal),
            ChaosKind.HeatWave => s == "temperature",
            // A stuck sensor repeats a value it reported before.
            ChaosKind.StuckSensor => _lastReported.ContainsKey(s),
            _ => true,
        }).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }
        var sensor = candidates[_random.Next(candidates.Count)];
        return kind switch
        {
            ChaosKind.VibrationGlitch => Started(kind, sensor, _random.Next(1, _options.GlitchSamples + 1),
                _options.GlitchFactor * (0.75 + (0.5 * _random.NextDouble()))),
            ChaosKind.HeatWave => Started(kind, sensor, _options.HeatWaveSamples, _options.HeatWaveCelsius),
            ChaosKind.StuckSensor => Started(kind, sensor, _random.Next((_options.StuckSamples + 1) / 2, _options.StuckSamples + 1),
                _lastReported[sensor]),
            _ => Started(kind, sensor, _random.Next(1, _options.DropSamples + 1), 0),
        };
    }

    private static Injection Started(ChaosKind kind, string sensor, int length, double amount) =>
        new(kind, sensor, length, length, amount);

    private static void Inject(Injection injection, Dictionary<string, double> values)
    {
        var sensor = injection.Sensor;
        switch (injection.Kind)
        {
            case ChaosKind.VibrationGlitch:
                values[sensor] = Math.Round(values[sensor] * injection.Amount, 3);
                break;
            case ChaosKind.HeatWave:
                // Trapezoid: up over the first third, hold, down over the last third.
                var step = injection.Length - injection.Remaining;
                var ramp = Math.Max(1, injection.Length / 3.0);
                var share = Math.Min(1, Math.Min(step + 1, injection.Remaining) / ramp);
                values[sensor] = Math.Round(values[sensor] + (injection.Amount * share), 3);
                break;
            case ChaosKind.StuckSensor:
                values[sensor] = injection.Amount;
                break;
            default:
                values.Remove(sensor);
                break;
        }
    }

    /// <summary>One running injection: <see cref="Amount"/> is the glitch factor, heat-wave peak or held value.</summary>
    private sealed record Injection(ChaosKind Kind, string Sensor, int Length, int Remaining, double Amount);
}
