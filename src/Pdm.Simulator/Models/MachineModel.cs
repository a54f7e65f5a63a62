using Pdm.Telemetry;

namespace Pdm.Simulator.Models;

/// <summary>Shared plumbing of the foundation models: elapsed time, output in profile order, noise sources.</summary>
internal abstract class MachineModel : IMachineModel
{
    private DateTimeOffset? _last;

    protected MachineModel(MachineProfile profile, Random random)
    {
        Profile = profile;
        Random = random;
    }

    public MachineProfile Profile { get; }

    protected Random Random { get; }

    public IReadOnlyList<SensorValue> Advance(DateTimeOffset now)
    {
        var seconds = _last is { } last ? Math.Max(0, (now - last).TotalSeconds) : 0;
        _last = now;
        var values = Step(seconds);
        var sensors = Profile.Sensors;
        var result = new SensorValue[sensors.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new SensorValue(sensors[i].Sensor, Math.Round(values[i], 3));
        }
        return result;
    }

    /// <summary>Moves the state on by <paramref name="seconds"/> and returns the values in profile sensor order.</summary>
    protected abstract double[] Step(double seconds);

    protected double Noise(double standardDeviation) => standardDeviation * Gaussian(Random);

    protected double Uniform(double min, double max) => min + ((max - min) * Random.NextDouble());

    /// <summary>Standard normal variate (Box-Muller), so every machine draws from its own seeded stream.</summary>
    internal static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}

/// <summary>
/// A slow, mean-reverting drift (Ornstein-Uhlenbeck). Updated with the exact solution so its statistics do not
/// depend on the tick interval: <see cref="StandardDeviation"/> is the long-run spread, <see cref="TimeConstant"/>
/// how many seconds a deviation takes to fade.
/// </summary>
internal sealed class Drift(double standardDeviation, double timeConstantSeconds, Random random)
{
    public double StandardDeviation { get; } = standardDeviation;
    public double TimeConstant { get; } = timeConstantSeconds;

    /// <summary>Starts somewhere in its long-run spread, so identical machines do not start identical.</summary>
    public double Value { get; private set; } = standardDeviation * MachineModel.Gaussian(random);

    public double Step(double seconds)
    {
        var decay = Math.Exp(-seconds / TimeConstant);
        Value = (Value * decay) + (StandardDeviation * Math.Sqrt(1 - (decay * decay)) * MachineModel.Gaussian(random));
        return Value;
    }
}

/// <summary>A first-order lag (thermal mass): follows its target with the given time constant.</summary>
internal sealed class Lag(double initial, double timeConstantSeconds)
{
    public double Value { get; private set; } = initial;

    public double Step(double target, double seconds)
    {
        Value += (target - Value) * (1 - Math.Exp(-seconds / timeConstantSeconds));
        return Value;
    }
}
