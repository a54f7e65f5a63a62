namespace Pdm.Simulator;

/// <summary>The kinds of machine the simulator has a model for; the kind fixes the sensors a machine reports.</summary>
public enum MachineKind
{
    CncMill,
    AssemblyLine,
    PressMachine,
    QualityTester,
    PackagingUnit,
    CentrifugalPump,
}

/// <summary>One simulated machine: its id (as sent in telemetry), a display name, its kind and where it stands.</summary>
public sealed record MachineProfile
{
    public required string MachineId { get; init; }
    public required string Name { get; init; }
    public required MachineKind Kind { get; init; }

    /// <summary>Where the machine stands on the plant floor ("Line 1 / Machining"); null when nobody said.</summary>
    public string? Location { get; init; }

    /// <summary>How much production stops when it does: LOW, MEDIUM, HIGH or CRITICAL; null when nobody said.</summary>
    public string? Criticality { get; init; }

    /// <summary>The sensors this machine reports, in the order its samples list them.</summary>
    public IReadOnlyList<SensorChannel> Sensors => SensorsOf(Kind);

    public static IReadOnlyList<SensorChannel> SensorsOf(MachineKind kind) => kind switch
    {
        MachineKind.CncMill => CncMillSensors,
        MachineKind.AssemblyLine => AssemblyLineSensors,
        MachineKind.PressMachine => PressMachineSensors,
        MachineKind.QualityTester => QualityTesterSensors,
        MachineKind.PackagingUnit => PackagingUnitSensors,
        MachineKind.CentrifugalPump => CentrifugalPumpSensors,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown machine kind."),
    };

    private static readonly SensorChannel[] CncMillSensors =
        [SimulatedSensors.Temperature, SimulatedSensors.SpindleSpeed, SimulatedSensors.Vibration];

    private static readonly SensorChannel[] AssemblyLineSensors =
        [SimulatedSensors.ConveyorSpeed, SimulatedSensors.Efficiency];

    private static readonly SensorChannel[] PressMachineSensors =
        [SimulatedSensors.Pressure, SimulatedSensors.Temperature, SimulatedSensors.Vibration];

    private static readonly SensorChannel[] QualityTesterSensors =
        [SimulatedSensors.Precision, SimulatedSensors.TestCycles];

    private static readonly SensorChannel[] PackagingUnitSensors =
        [SimulatedSensors.PackagingSpeed, SimulatedSensors.Efficiency];

    private static readonly SensorChannel[] CentrifugalPumpSensors =
    [
        SimulatedSensors.VibrationX, SimulatedSensors.VibrationY, SimulatedSensors.VibrationZ,
        SimulatedSensors.Pressure, SimulatedSensors.Flow, SimulatedSensors.Current, SimulatedSensors.Temperature,
    ];
}
