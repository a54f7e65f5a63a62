using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>
/// The behaviour of one simulated machine. A model owns its state and random stream; the fleet asks it for
/// values at increasing times. Richer models (wear, failure modes) plug in here without touching the fleet.
/// </summary>
public interface IMachineModel
{
    MachineProfile Profile { get; }

    /// <summary>
    /// Advances the model to <paramref name="now"/> and returns one value per sensor of <see cref="MachineProfile.Sensors"/>,
    /// in that order. The first call only sets the start; a time earlier than the last one is treated as no time passing.
    /// </summary>
    IReadOnlyList<SensorValue> Advance(DateTimeOffset now);
}

/// <summary>Creates the foundation model for a machine profile.</summary>
public static class MachineModels
{
    public static IMachineModel Create(MachineProfile profile, int seed)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var random = new Random(seed);
        return profile.Kind switch
        {
            MachineKind.CncMill => new Models.CncMillModel(profile, random),
            MachineKind.AssemblyLine => new Models.AssemblyLineModel(profile, random),
            MachineKind.PressMachine => new Models.PressMachineModel(profile, random),
            MachineKind.QualityTester => new Models.QualityTesterModel(profile, random),
            MachineKind.PackagingUnit => new Models.PackagingUnitModel(profile, random),
            MachineKind.CentrifugalPump => new Models.CentrifugalPumpModel(profile, random),
            _ => throw new ArgumentOutOfRangeException(nameof(profile), profile.Kind, "Unknown machine kind."),
        };
    }

    /// <summary>The machine's digital twin (it wears out) when <paramref name="twin"/> is given, else the foundation model.</summary>
    public static IMachineModel Create(MachineProfile profile, int seed, Twin.TwinOptions? twin) =>
        twin is null ? Create(profile, seed) : new Twin.DegradingMachine(profile, seed, twin);
}
