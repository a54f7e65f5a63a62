using Pdm.Telemetry;

namespace Pdm.Simulator.Twin;

/// <summary>What the chaos engine did to one sample: the kind of injection and the sensor it hit.</summary>
public sealed record ChaosLabel(ChaosKind Kind, string Sensor);

/// <summary>
/// The ground truth of one machine at one instant, which a real plant never reveals: how worn it is, how bad its
/// vibration really is (without noise), the state that follows, and how long it has left.
/// </summary>
public sealed record TwinTruth
{
    /// <summary>Wear from 0 (new) to 1 (failed).</summary>
    public required double Wear { get; init; }

    /// <summary>The noise-free vibration severity in mm/s RMS that decides <see cref="Zone"/>.</summary>
    public required double Severity { get; init; }

    public required VibrationZone Zone { get; init; }
    public required MachineState State { get; init; }

    /// <summary>Time since the machine was (re)started new.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Remaining useful life: time until wear reaches 1; zero once broken.</summary>
    public required TimeSpan RemainingUsefulLife { get; init; }

    /// <summary>Injections active in this sample; empty without chaos.</summary>
    public IReadOnlyList<ChaosLabel> Chaos { get; init; } = [];
}

/// <summary>
/// One step of a twin machine: the values as a sensor would report them and the truth behind them. After the
/// chaos engine a dropped sensor is missing from <see cref="Values"/>, so the list can be shorter than the
/// profile's sensor list.
/// </summary>
public sealed record TwinSample
{
    public required MachineProfile Machine { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required IReadOnlyList<SensorValue> Values { get; init; }
    public required TwinTruth Truth { get; init; }

    /// <summary>The telemetry view of this sample (values only, no truth).</summary>
    public MachineSample ToMachineSample(long sequence) => new()
    {
        MachineId = Machine.MachineId,
        Timestamp = Timestamp,
        Sequence = sequence,
        Values = Values,
    };
}
