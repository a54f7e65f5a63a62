using Microsoft.Extensions.Logging;
using Pdm.Simulator.Twin;
using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>
/// Steps every machine of a fleet together and numbers their samples as a gateway would. Deterministic: the same
/// models (same seeds) asked at the same times give the same samples. Not thread-safe.
/// </summary>
public sealed class FleetSimulator
{
    private readonly IMachineModel[] _models;
    private readonly long[] _nextSequence;

    /// <summary>The foundation model for each machine, seeded from the fleet's master seed.</summary>
    public FleetSimulator(FleetDefinition fleet)
        : this(CreateModels(fleet))
    {
    }

    public FleetSimulator(IEnumerable<IMachineModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        _models = [.. models];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in _models)
        {
            if (!ids.Add(model.Profile.MachineId))
            {
                throw new ArgumentException($"Machine id {model.Profile.MachineId} appears twice.", nameof(models));
            }
        }
        _nextSequence = new long[_models.Length];
        Machines = [.. _models.Select(m => m.Profile)];
    }

    /// <summary>
    /// The fleet as digital twins that wear out, break and are replaced after <paramref name="repairTime"/>
    /// (<see cref="MaintainedMachine"/>), each seeded from the fleet's master seed.
    /// </summary>
    public static FleetSimulator CreateTwin(FleetDefinition fleet, TwinOptions twin, TimeSpan repairTime, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return new FleetSimulator(fleet.Machines.Select(m => new MaintainedMachine(m, fleet.SeedFor(m.MachineId), twin, repairTime, logger)));
    }

    public IReadOnlyList<MachineProfile> Machines { get; }

    /// <summary>Total number of sensor values one tick produces.</summary>
    public int ValuesPerTick => Machines.Sum(m => m.Sensors.Count);

    /// <summary>One sample per machine at <paramref name="now"/>; each machine's sequence starts at 0 and counts up by 1.</summary>
    public IReadOnlyList<MachineSample> Tick(DateTimeOffset now)
    {
        var samples = new MachineSample[_models.Length];
        for (var i = 0; i < _models.Length; i++)
        {
            samples[i] = new MachineSample
            {
                MachineId = _models[i].Profile.MachineId,
                Timestamp = now,
                Sequence = _nextSequence[i]++,
                Values = _models[i].Advance(now),
            };
        }
        return samples;
    }

    private static IEnumerable<IMachineModel> CreateModels(FleetDefinition fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return fleet.Machines.Select(m => MachineModels.Create(m, fleet.SeedFor(m.MachineId)));
    }
}
