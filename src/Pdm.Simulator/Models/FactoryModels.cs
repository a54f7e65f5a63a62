namespace Pdm.Simulator.Models;

/// <summary>CNC mill: jobs at different spindle speeds; heat and vibration follow the spindle load.</summary>
internal sealed class CncMillModel : MachineModel
{
    private readonly Drift _speedDrift;
    private readonly Drift _ambient;
    private readonly Drift _vibrationDrift;
    private readonly Lag _temperature;
    private double _setpoint;
    private double _jobSecondsLeft;

    public CncMillModel(MachineProfile profile, Random random) : base(profile, random)
    {
        _speedDrift = new Drift(0.003, 60, random);
        _ambient = new Drift(1.5, 3600, random);
        _vibrationDrift = new Drift(0.15, 300, random);
        StartJob();
        _temperature = new Lag(TemperatureTarget(Load(_setpoint)), 600);
    }

    protected override double[] Step(double seconds)
    {
        _jobSecondsLeft -= seconds;
        if (_jobSecondsLeft <= 0)
        {
            StartJob();
        }
        _ambient.Step(seconds);
        var spindle = (_setpoint * (1 + _speedDrift.Step(seconds))) + Noise(15);
        var temperature = _temperature.Step(TemperatureTarget(Load(spindle)), seconds) + Noise(0.2);
        var relativeSpeed = spindle / 12000;
        var vibration = 1.2 + (1.2 * relativeSpeed * relativeSpeed) + _vibrationDrift.Step(seconds) + Noise(0.08);
        return [temperature, spindle, Math.Max(0.3, vibration)];
    }

    // A new job picks a speed in 250 rpm steps and runs for 2 to 15 minutes.
    private void StartJob()
    {
        _setpoint = 8000 + (250 * Random.Next(0, 17));
        _jobSecondsLeft = Uniform(120, 900);
    }

    private static double Load(double spindle) => Math.Clamp((spindle - 8000) / 4000, 0, 1);

    private double TemperatureTarget(double load) => 48 + (22 * load) + _ambient.Value;
}

/// <summary>Assembly line: conveyor near 12 m/min; efficiency drops when the conveyor strays from nominal.</summary>
internal sealed class AssemblyLineModel(MachineProfile profile, Random random) : MachineModel(profile, random)
{
    private readonly Drift _speedDrift = new(0.3, 600, random);
    private readonly Drift _efficiencyDrift = new(2, 1800, random);

    protected override double[] Step(double seconds)
    {
        var deviation = _speedDrift.Step(seconds);
        var speed = 12 + deviation + Noise(0.05);
        var efficiency = 93 + _efficiencyDrift.Step(seconds) - (4 * Math.Abs(deviation)) + Noise(0.3);
        return [speed, Math.Clamp(efficiency, 0, 100)];
    }
}

/// <summary>Hydraulic press: system pressure around 180 bar; oil temperature and vibration follow it.</summary>
internal sealed class PressMachineModel : MachineModel
{
    private readonly Drift _pressureDrift;
    private readonly Drift _ambient;
    private readonly Drift _vibrationDrift;
    private readonly Lag _temperature;

    public PressMachineModel(MachineProfile profile, Random random) : base(profile, random)
    {
        _pressureDrift = new Drift(4, 900, random);
        _ambient = new Drift(2, 3600, random);
        _vibrationDrift = new Drift(0.2, 300, random);
        _temperature = new Lag(TemperatureTarget(180 + _pressureDrift.Value), 900);
    }

    protected override double[] Step(double seconds)
    {
        _ambient.Step(seconds);
        var pressure = 180 + _pressureDrift.Step(seconds) + Noise(1.5);
        var temperature = _temperature.Step(TemperatureTarget(pressure), seconds) + Noise(0.2);
        var vibration = 2.5 + (0.01 * (pressure - 180)) + _vibrationDrift.Step(seconds) + Noise(0.1);
        return [pressure, temperature, Math.Max(0.3, vibration)];
    }

    private double TemperatureTarget(double pressure) => 50 + (0.05 * (pressure - 180)) + _ambient.Value;
}

/// <summary>Quality tester: measurement precision wanders slowly; the test counter only goes up.</summary>
internal sealed class QualityTesterModel : MachineModel
{
    private readonly Drift _precisionDrift;
    private readonly Drift _rateDrift;
    private double _cycles;

    public QualityTesterModel(MachineProfile profile, Random random) : base(profile, random)
    {
        _precisionDrift = new Drift(0.25, 1800, random);
        _rateDrift = new Drift(0.05, 600, random);
        // A tester that has been in service for a while.
        _cycles = Math.Floor(Uniform(10_000, 50_000));
    }

    protected override double[] Step(double seconds)
    {
        var precision = 2.0 + _precisionDrift.Step(seconds) + Noise(0.05);
        // About one test every two seconds.
        _cycles += seconds * Math.Max(0, 0.5 + _rateDrift.Step(seconds));
        return [Math.Max(0.2, precision), Math.Floor(_cycles)];
    }
}

/// <summary>Packaging unit: around 120 packs/min; running faster than nominal costs efficiency.</summary>
internal sealed class PackagingUnitModel(MachineProfile profile, Random random) : MachineModel(profile, random)
{
    private readonly Drift _speedDrift = new(3, 600, random);
    private readonly Drift _efficiencyDrift = new(2, 1800, random);

    protected override double[] Step(double seconds)
    {
        var speed = 120 + _speedDrift.Step(seconds) + Noise(0.8);
        var efficiency = 91 + _efficiencyDrift.Step(seconds) - (0.3 * Math.Max(0, speed - 120)) + Noise(0.3);
        return [Math.Max(0, speed), Math.Clamp(efficiency, 0, 100)];
    }
}
