using System.Globalization;

namespace Pdm.Simulator;

/// <summary>The machines one gateway simulates and the master seed their random streams derive from.</summary>
public sealed record FleetDefinition
{
    public required int Seed { get; init; }
    public required IReadOnlyList<MachineProfile> Machines { get; init; }

    /// <summary>The five machines of the original deployment (EG_M001..EG_M005).</summary>
    public static IReadOnlyList<MachineProfile> OriginalMachines { get; } =
    [
        new() { MachineId = "EG_M001", Name = "CNC Mill Alpha", Kind = MachineKind.CncMill },
        new() { MachineId = "EG_M002", Name = "Assembly Line Beta", Kind = MachineKind.AssemblyLine },
        new() { MachineId = "EG_M003", Name = "Press Machine Gamma", Kind = MachineKind.PressMachine },
        new() { MachineId = "EG_M004", Name = "Quality Tester Delta", Kind = MachineKind.QualityTester },
        new() { MachineId = "EG_M005", Name = "Packaging Unit Epsilon", Kind = MachineKind.PackagingUnit },
    ];

    /// <summary>The original five machines plus <paramref name="pumpCount"/> centrifugal pumps PUMP_001, PUMP_002, ...</summary>
    public static FleetDefinition CreateDefault(int seed = 1, int pumpCount = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pumpCount);
        var machines = new List<MachineProfile>(OriginalMachines);
        for (var number = 1; number <= pumpCount; number++)
        {
            machines.Add(Pump(number));
        }
        return new FleetDefinition { Seed = seed, Machines = machines };
    }

    public static MachineProfile Pump(int number) => new()
    {
        MachineId = string.Create(CultureInfo.InvariantCulture, $"PUMP_{number:D3}"),
        Name = string.Create(CultureInfo.InvariantCulture, $"Centrifugal Pump {number}"),
        Kind = MachineKind.CentrifugalPump,
    };

    /// <summary>
    /// The seed of one machine's random stream. Derived from the master seed and the machine id only (FNV-1a,
    /// not string.GetHashCode, which differs per process), so adding a machine does not change the others' data.
    /// </summary>
    public int SeedFor(string machineId)
    {
        ArgumentNullException.ThrowIfNull(machineId);
        var hash = 2166136261u ^ unchecked((uint)Seed * 0x9E3779B1u);
        foreach (var c in machineId)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }
        return unchecked((int)hash);
    }
}
