using Pdm.Telemetry;

namespace Pdm.Simulator.Twin;

/// <summary>The twin's ground-truth condition of a machine.</summary>
public enum MachineState
{
    Healthy,
    Warning,
    Faulty,
    Broken,
}

/// <summary>
/// The twin's ground truth: how it turns the ISO 10816 zone of a machine's vibration severity and its wear into the
/// machine's true state, and which zone table (<see cref="IsoZoneBoundaries"/>) each machine kind is judged by.
/// <list type="bullet">
/// <item>Zone A or B: <see cref="MachineState.Healthy"/> (the standard accepts both for unrestricted operation).</item>
/// <item>Zone C: <see cref="MachineState.Warning"/> (may run for a limited time; plan maintenance).</item>
/// <item>Zone D: <see cref="MachineState.Faulty"/> (vibration is damaging the machine).</item>
/// <item>Wear at or above 1, whatever the zone: <see cref="MachineState.Broken"/> (the machine has failed).</item>
/// </list>
/// </summary>
public static class GroundTruth
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
    public static IsoZoneBoundaries ZonesOf(MachineKind kind) =>
        IsoZoneClasses.BuiltInFor(kind.ToString()) is { } name ? IsoZoneClasses.Of(name)
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown machine kind.");
}
