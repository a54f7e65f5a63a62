namespace Pdm.Simulator.Models;

/// <summary>
/// Centrifugal pump at fixed speed. Flow follows a slowly changing demand; pressure sits on a quadratic pump
/// curve (p = p0 - k*Q^2); motor current rises with flow; temperature follows the current slowly; vibration
/// grows as the pump runs away from its best-efficiency point.
/// </summary>
internal sealed class CentrifugalPumpModel : MachineModel
{
    private readonly double _ratedFlow;
    private readonly double _shutoffPressure;
    private readonly double _curveCoefficient;
    private readonly double _ratedCurrent;
    private readonly double[] _vibrationBase;
    private readonly Drift _demand;
    private readonly Drift _ambient;
    private readonly Drift[] _vibrationDrift;
    private readonly Lag _temperature;

    public CentrifugalPumpModel(MachineProfile profile, Random random) : base(profile, random)
    {
        // Each pump gets its own size and mounting from its seed.
        _ratedFlow = Uniform(80, 120);
        _shutoffPressure = Uniform(5.5, 7);
        // A quarter of the shut-off pressure is lost at rated flow.
        _curveCoefficient = 0.25 * _shutoffPressure / (_ratedFlow * _ratedFlow);
        _ratedCurrent = _ratedFlow * 0.25;
        var mounting = Uniform(0.9, 1.1);
        _vibrationBase = [1.4 * mounting, 1.2 * mounting, 0.8 * mounting];
        _demand = new Drift(0.1, 1200, random);
        _ambient = new Drift(2, 3600, random);
        _vibrationDrift = [new Drift(0.1, 600, random), new Drift(0.1, 600, random), new Drift(0.1, 600, random)];
        _temperature = new Lag(TemperatureTarget(Current(Flow())), 1800);
    }

    protected override double[] Step(double seconds)
    {
        _demand.Step(seconds);
        _ambient.Step(seconds);
        var flow = Flow() + Noise(0.01 * _ratedFlow);
        var pressure = _shutoffPressure - (_curveCoefficient * flow * flow) + Noise(0.03);
        var current = Current(flow) + Noise(0.1);
        var temperature = _temperature.Step(TemperatureTarget(current), seconds) + Noise(0.1);
        var offDesign = (flow - _ratedFlow) / _ratedFlow;
        var values = new double[7];
        for (var axis = 0; axis < 3; axis++)
        {
            var vibration = _vibrationBase[axis] + (1.5 * offDesign * offDesign) + _vibrationDrift[axis].Step(seconds) + Noise(0.05);
            values[axis] = Math.Max(0.1, vibration);
        }
        values[3] = Math.Max(0, pressure);
        values[4] = Math.Max(0, flow);
        values[5] = Math.Max(0, current);
        values[6] = temperature;
        return values;
    }

    private double Flow() => _ratedFlow * Math.Clamp(0.85 + _demand.Value, 0.3, 1.2);

    private double Current(double flow) => _ratedCurrent * (0.45 + (0.55 * flow / _ratedFlow));

    private double TemperatureTarget(double current) => 25 + _ambient.Value + (15 * current / _ratedCurrent);
}
