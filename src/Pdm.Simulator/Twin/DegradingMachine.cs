using Pdm.Telemetry;

namespace Pdm.Simulator.Twin;

/// <summary>
/// A machine that wears out. It wraps the foundation model of its kind (load, speed, ambient and noise stay
/// as they were) and overlays degradation on the sensors wear affects:
/// <list type="bullet">
/// <item>Time to failure T is drawn once from a Weibull distribution whose mean is the mode's (seeded).</item>
/// <item>Wear w = (t / T)^k (k: <see cref="TwinOptions.WearExponent"/>, 2 by default): slow at first, faster towards failure; w = 1 at T.</item>
/// <item>Vibration severity = healthy level × exp(a·w), with a chosen so the severity at failure is 1.4 × the
/// kind's C/D boundary: it leaves zone A/B, crosses C and ends in D. Every vibration sensor (one axis or three) is
/// scaled the same way and gets extra noise growing with wear (impacts of a damaged bearing).</item>
/// <item>Friction follows the vibration growth from 0 (new) to 1 (failed): temperatures rise by up to 20 °C on top of
/// the load-driven heat of the foundation model; motor current rises by up to 15 % on top of its load share.</item>
/// <item>Pump: a worn impeller acts like a smaller one (affinity laws): flow × d and pressure × d² with
/// d = 1 − 0.12·w, so the operating point slides down a shrinking quadratic curve while the current (above) does
/// not fall: hydraulic efficiency, flow × pressure per ampere, drops with wear.</item>
/// <item>Press: internal leakage costs up to 20 bar. Lines and packaging units lose speed and efficiency;
/// the quality tester's precision worsens. Other sensors keep the foundation model's behaviour.</item>
/// </list>
/// The ground truth state comes from the zone of the noise-free severity (<see cref="GroundTruth"/>), so it
/// only ever moves forward. After failure wear stays at 1 and the values at their failure level.
/// The machine lives on its own clock: <see cref="TwinOptions.TimeScale"/> machine seconds pass per second of the
/// times it is stepped with, and it may be installed already part-way through its life (<c>startAge</c>), as the
/// machines of a running plant are.
/// </summary>
public sealed class DegradingMachine : IMachineModel
{
    private const double FailureSeverityOverCD = 1.4;
    private const double FrictionHeatingCelsius = 20;
    private const double FrictionCurrentShare = 0.15;
    private const double ImpellerLossAtFailure = 0.12;
    private const double ImpactNoiseAtFailure = 0.04;

    // Keeps the twin's random stream apart from the foundation model's, which uses the seed itself.
    private const int TwinStreamSalt = 0x3C6EF372;

    private readonly IMachineModel _foundation;
    private readonly Random _random;
    private readonly double _healthySeverity;
    private readonly double _growth;
    private readonly double _timeScale;
    private readonly double _wearExponent;
    private readonly TimeSpan _startAge;
    private DateTimeOffset? _start;
    private TimeSpan _elapsed;

    /// <param name="startAge">The share of its own life (0 to below 1) the machine has already run when first stepped.</param>
    public DegradingMachine(MachineProfile profile, int seed, TwinOptions? options = null, double startAge = 0)
    {
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new TwinOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.WeibullShape, 0, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.EffectiveMeanTimeToFailure, TimeSpan.Zero, nameof(options));
        if (!(options.TimeScale > 0) || double.IsInfinity(options.TimeScale))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TimeScale, "The time scale must be a positive number.");
        }
        if (!(options.WearExponent > 0) || double.IsInfinity(options.WearExponent))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.WearExponent, "The wear exponent must be a positive number.");
        }
        if (!(startAge >= 0 && startAge < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(startAge), startAge, "The start age is a share of the life: from 0 to below 1.");
        }
        _foundation = MachineModels.Create(profile, seed);
        _random = new Random(unchecked(seed ^ TwinStreamSalt));
        Boundaries = GroundTruth.ZonesOf(profile.Kind);
        _healthySeverity = HealthySeverity(profile.Kind);
        _growth = Math.Log(FailureSeverityOverCD * Boundaries.BoundaryCD / _healthySeverity);
        TimeToFailure = Weibull.Sample(_random, options.EffectiveMeanTimeToFailure, options.WeibullShape);
        _timeScale = options.TimeScale;
        _wearExponent = options.WearExponent;
        _startAge = TimeToFailure * startAge;
        _elapsed = _startAge;
    }

    public MachineProfile Profile => _foundation.Profile;

    /// <summary>This machine's Weibull draw: its machine time from new until it breaks.</summary>
    public TimeSpan TimeToFailure { get; }

    public IsoZoneBoundaries Boundaries { get; }

    public IReadOnlyList<SensorValue> Advance(DateTimeOffset now) => Step(now).Values;

    /// <summary>
    /// Advances to <paramref name="now"/> (the first call sets the start; an earlier time counts as no time passing)
    /// and returns the values in profile sensor order with the truth behind them. <see cref="TwinTruth.Elapsed"/> and
    /// the remaining life are machine time; the sample's timestamp is <paramref name="now"/>.
    /// </summary>
    public TwinSample Step(DateTimeOffset now)
    {
        _start ??= now;
        var machineTime = (now - _start.Value) * _timeScale;
        _elapsed = TimeSpan.FromTicks(Math.Max(_elapsed.Ticks, (_startAge + machineTime).Ticks));
        var foundation = _foundation.Advance(_start.Value + machineTime);
        var wear = Math.Min(1, Math.Pow(_elapsed / TimeToFailure, _wearExponent));
        var growth = Math.Exp(_growth * wear);
        var friction = (growth - 1) / (Math.Exp(_growth) - 1);
        var values = new SensorValue[foundation.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var (sensor, value) = foundation[i];
            values[i] = new SensorValue(sensor, Math.Round(Overlay(sensor, value, wear, growth, friction), 3));
        }
        var severity = _healthySeverity * growth;
        var zone = Boundaries.Classify(severity);
        return new TwinSample
        {
            Machine = Profile,
            Timestamp = now,
            Values = values,
            Truth = new TwinTruth
            {
                Wear = wear,
                Severity = severity,
                Zone = zone,
                State = GroundTruth.StateOf(zone, wear),
                Elapsed = _elapsed,
                RemainingUsefulLife = TimeToFailure > _elapsed ? TimeToFailure - _elapsed : TimeSpan.Zero,
            },
        };
    }

    private double Overlay(string sensor, double value, double wear, double growth, double friction)
    {
        var impeller = 1 - (ImpellerLossAtFailure * wear);
        return sensor switch
        {
            "vibration" or "vibration_x" or "vibration_y" or "vibration_z" =>
                Math.Max(0.1, (value * growth) + Noise(ImpactNoiseAtFailure * value * growth * wear)),
            "temperature" => value + (FrictionHeatingCelsius * friction),
            "current" => value * (1 + (FrictionCurrentShare * friction)),
            "flow" => value * impeller,
            "pressure" when Profile.Kind == MachineKind.CentrifugalPump => value * impeller * impeller,
            "pressure" => value - (20 * wear * wear),
            "efficiency" => Math.Clamp(value - (12 * wear * wear), 0, 100),
            "conveyor_speed" or "packaging_speed" => Math.Max(0, (value * (1 - (0.05 * wear * wear))) + Noise(0.01 * value * wear)),
            "precision" => value + (2.5 * wear * wear),
            _ => value,
        };
    }

    // The typical healthy RMS velocity of each kind in mm/s (zone A or B of its table); for kinds without a
    // vibration sensor it is the drive's, which the twin tracks though nobody measures it.
    private static double HealthySeverity(MachineKind kind) => kind switch
    {
        MachineKind.CncMill => 2.0,
        MachineKind.PressMachine => 2.5,
        MachineKind.CentrifugalPump => 1.4,
        MachineKind.AssemblyLine => 1.0,
        MachineKind.PackagingUnit => 1.0,
        MachineKind.QualityTester => 0.5,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown machine kind."),
    };

    private double Noise(double standardDeviation) => standardDeviation * Models.MachineModel.Gaussian(_random);
}

/// <summary>Weibull times to failure parameterised by their mean.</summary>
internal static class Weibull
{
    /// <summary>Inverse-CDF draw with scale = mean / Γ(1 + 1/shape).</summary>
    public static TimeSpan Sample(Random random, TimeSpan mean, double shape)
    {
        var scale = mean.TotalSeconds / Gamma(1 + (1 / shape));
        var seconds = scale * Math.Pow(-Math.Log(1 - random.NextDouble()), 1 / shape);
        // A failure within the first instant would be no run at all.
        return TimeSpan.FromSeconds(Math.Max(seconds, mean.TotalSeconds * 1e-3));
    }

    /// <summary>Γ(x) for x ≥ 0.5 by the Lanczos approximation (g = 7, 9 terms; relative error about 1e-15).</summary>
    public static double Gamma(double x)
    {
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        var sum = coefficients[0];
        for (var i = 1; i < coefficients.Length; i++)
        {
            sum += coefficients[i] / (x + i);
        }
        var t = x + 7.5;
        return Math.Sqrt(2 * Math.PI) * Math.Pow(t, x + 0.5) * Math.Exp(-t) * sum;
    }
}
