namespace Pdm.Simulator.Twin;

/// <summary>
/// ISO 10816 evaluation zones of broadband RMS vibration velocity: A newly commissioned, B fine for unrestricted
/// long-term operation, C not fit for long-term operation (plan maintenance), D severe enough to cause damage.
/// </summary>
public enum VibrationZone
{
    A,
    B,
    C,
    D,
}

/// <summary>The twin's ground-truth condition of a machine.</summary>
public enum MachineState
{
    Healthy,
    Warning,
    Faulty,
    Broken,
}

/// <summary>
/// The zone boundaries of one machine group or class, in mm/s RMS: a velocity below <see cref="BoundaryAB"/> is
/// zone A, from <see cref="BoundaryAB"/> up to <see cref="BoundaryBC"/> zone B, and so on; a value on a boundary
/// belongs to the worse zone.
/// </summary>
public sealed record IsoZoneBoundaries(string Name, double BoundaryAB, double BoundaryBC, double BoundaryCD)
{
    /// <summary>ISO 10816-3 group 1 (large machines, 300 kW to 50 MW) on a rigid foundation.</summary>
    public static IsoZoneBoundaries Group1Rigid { get; } = new("ISO 10816-3 group 1, rigid", 2.3, 4.5, 7.1);

    /// <summary>ISO 10816-3 group 1 (large machines, 300 kW to 50 MW) on a flexible foundation.</summary>
    public static IsoZoneBoundaries Group1Flexible { get; } = new("ISO 10816-3 group 1, flexible", 3.5, 7.1, 11.0);

    /// <summary>ISO 10816-3 group 2 (medium machines, 15 kW to 300 kW) on a rigid foundation.</summary>
    public static IsoZoneBoundaries Group2Rigid { get; } = new("ISO 10816-3 group 2, rigid", 1.4, 2.8, 4.5);

    /// <summary>ISO 10816-3 group 2 (medium machines, 15 kW to 300 kW) on a flexible foundation.</summary>
    public static IsoZoneBoundaries Group2Flexible { get; } = new("ISO 10816-3 group 2, flexible", 2.3, 4.5, 7.1);

    /// <summary>ISO 10816-1 class I: small machines, up to about 15 kW.</summary>
    public static IsoZoneBoundaries ClassI { get; } = new("ISO 10816-1 class I", 0.71, 1.8, 4.5);

    /// <summary>ISO 10816-1 class II: medium machines, about 15 kW to 75 kW.</summary>
    public static IsoZoneBoundaries ClassII { get; } = new("ISO 10816-1 class II", 1.12, 2.8, 7.1);

    /// <summary>ISO 10816-1 class III: large machines on rigid foundations.</summary>
    public static IsoZoneBoundaries ClassIII { get; } = new("ISO 10816-1 class III", 1.8, 4.5, 11.2);

    /// <summary>ISO 10816-1 class IV: large machines on flexible foundations.</summary>
    public static IsoZoneBoundaries ClassIV { get; } = new("ISO 10816-1 class IV", 2.8, 7.1, 18.0);

    /// <summary>The zone of an RMS velocity in mm/s. NaN (no reading) is taken as zone A: it proves nothing bad.</summary>
    public VibrationZone Zone(double rmsMillimetresPerSecond) => rmsMillimetresPerSecond switch
    {
        var v when v >= BoundaryCD => VibrationZone.D,
        var v when v >= BoundaryBC => VibrationZone.C,
        var v when v >= BoundaryAB => VibrationZone.B,
        _ => VibrationZone.A,
    };
}

/// <summary>
/// How the twin turns vibration severity and wear into its ground-truth state, and which zone table each machine
/// kind is judged by.
/// <list type="bullet">
/// <item>Zone A or B: <see cref="MachineState.Healthy"/> (the standard accepts both for unrestricted operation).</item>
/// <item>Zone C: <see cref="MachineState.Warning"/> (may run for a limited time; plan maintenance).</item>
/// <item>Zone D: <see cref="MachineState.Faulty"/> (vibration is damaging the machine).</item>
/// <item>Wear at or above 1, whatever the zone: <see cref="MachineState.Broken"/> (the machine has failed).</item>
/// </list>
/// </summary>
public static class IsoVibrationZones
{
    public static MachineState StateOf(VibrationZone zone, double wear) =>
        wear >= 1
            ? MachineState.Broken
            : zone switch
            {
                VibrationZone.D => MachineState.Faulty,
                VibrationZone.C => MachineState.Warning,
                _ => MachineState.Healthy,
            };

    /// <summary>
    /// The table a machine kind is judged by. Kinds without a vibration sensor still have a drive whose condition
    /// the twin tracks, so they get a table too (the small-machine classes of ISO 10816-1).
    /// </summary>
    public static IsoZoneBoundaries For(MachineKind kind) => kind switch
    {
        MachineKind.CncMill => IsoZoneBoundaries.Group1Rigid,
        MachineKind.PressMachine => IsoZoneBoundaries.Group1Rigid,
        MachineKind.CentrifugalPump => IsoZoneBoundaries.Group2Rigid,
        MachineKind.AssemblyLine => IsoZoneBoundaries.ClassII,
        MachineKind.PackagingUnit => IsoZoneBoundaries.ClassII,
        MachineKind.QualityTester => IsoZoneBoundaries.ClassI,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown machine kind."),
    };
}
