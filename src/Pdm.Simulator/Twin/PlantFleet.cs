using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Pdm.Simulator.Twin;

/// <summary>
/// The time scale of the demo plant (docs/demo.md). Its machines live weeks to months of machine time; the twin
/// runs <see cref="Compression"/> machine seconds per wall-clock second, so a viewer sees a life's end within
/// minutes. Telemetry keeps wall-clock timestamps (ingest, the API and every "is it recent" check stay on the wall
/// clock); whatever is about the machines' lives (remaining life, the 24 h / 48 h failure horizons, the models'
/// training data) is machine time, converted with this factor.
/// </summary>
public sealed record PlantOptions
{
    /// <summary>Machine seconds per wall-clock second: 1440 makes one wall minute one machine day.</summary>
    public double Compression { get; init; } = 1440;

    /// <summary>The mean of the machines' Weibull lives (machine time).</summary>
    public TimeSpan MeanLife { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Above 1: wear-out, lives bunch around the mean (2.5: 90 % between 10 and 52 days for a 30-day mean).</summary>
    public double WeibullShape { get; init; } = 2.5;

    /// <summary>
    /// Wear = (t / life)^5: a machine runs like new for most of its life and degrades visibly (ISO zone C and worse)
    /// in about its last seventh, days rather than weeks, as bearings do; see <see cref="TwinOptions.WearExponent"/>.
    /// </summary>
    public double WearExponent { get; init; } = 5;

    /// <summary>How long a broken machine stands before its replacement runs (machine time).</summary>
    public TimeSpan RepairTime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>The twin's options for these machines.</summary>
    public TwinOptions Twin => new()
    {
        MeanTimeToFailure = MeanLife, WeibullShape = WeibullShape, WearExponent = WearExponent, TimeScale = Compression,
    };

    /// <summary>The machine time that passes in <paramref name="wall"/> of wall-clock time.</summary>
    public TimeSpan ToMachine(TimeSpan wall) => wall * Compression;

    /// <summary>The wall-clock time in which <paramref name="machine"/> of machine time passes.</summary>
    public TimeSpan ToWall(TimeSpan machine) => machine / Compression;

    /// <summary>Null when usable, else which setting is wrong and why.</summary>
    public string? Validate() =>
        !(Compression >= 1) || double.IsInfinity(Compression) ? $"compression is {Compression}: it must be a number of at least 1"
        : MeanLife <= TimeSpan.Zero ? "the mean life must be above 0"
        : !(WeibullShape > 0) ? $"the Weibull shape is {WeibullShape}: it must be above 0"
        : !(WearExponent > 0) || double.IsInfinity(WearExponent) ? $"the wear exponent is {WearExponent}: it must be above 0"
        : RepairTime < TimeSpan.Zero ? "the repair time must not be negative"
        : null;
}

/// <summary>How many of a plant's machines are in which state right now.</summary>
public sealed record PlantCensus(int Healthy, int Degrading, int Failed, int Replacements)
{
    public int Machines => Healthy + Degrading + Failed;
}

/// <summary>
/// The demo plant: a layout that reads like a plant floor (names, kinds, locations) and its machines as maintained
/// twins on the plant's time scale, installed at staggered ages so that at any moment most run healthy, a few
/// degrade and now and then one fails and is replaced.
/// </summary>
public static class PlantFleet
{
    // Pumps take their service in turn: a plant has more cooling water pumps than boiler feed pumps.
    // A boiler feed pump that stops stops the plant; one cooling water pump of two has a twin beside it.
    private static readonly (string Service, string Location, string Criticality)[] PumpServices =
    [
        ("Cooling water pump", "Utilities / cooling water", "MEDIUM"),
        ("Cooling water pump", "Utilities / cooling water", "MEDIUM"),
        ("Process water pump", "Line 2 / process water", "HIGH"),
        ("Boiler feed pump", "Utilities / boiler house", "CRITICAL"),
    ];

    /// <summary>
    /// The original five machines (same ids: EG_M001..EG_M005) named and placed as on a plant floor, and
    /// <paramref name="pumpCount"/> centrifugal pumps PUMP_001.. in their services ("Cooling water pump 2").
    /// </summary>
    public static FleetDefinition Layout(int seed = 7, int pumpCount = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pumpCount);
        List<MachineProfile> machines =
        [
            new() { MachineId = "EG_M001", Name = "CNC mill 1", Kind = MachineKind.CncMill, Location = "Line 1 / machining", Criticality = "HIGH" },
            new() { MachineId = "EG_M002", Name = "Assembly line 1", Kind = MachineKind.AssemblyLine, Location = "Line 1 / assembly", Criticality = "HIGH" },
            new() { MachineId = "EG_M003", Name = "Hydraulic press 1", Kind = MachineKind.PressMachine, Location = "Line 2 / forming", Criticality = "HIGH" },
            new() { MachineId = "EG_M004", Name = "End-of-line tester 1", Kind = MachineKind.QualityTester, Location = "Line 1 / quality", Criticality = "MEDIUM" },
            new() { MachineId = "EG_M005", Name = "Case packer 1", Kind = MachineKind.PackagingUnit, Location = "Line 1 / packaging", Criticality = "LOW" },
        ];
        var perService = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var number = 1; number <= pumpCount; number++)
        {
            var (service, location, criticality) = PumpServices[(number - 1) % PumpServices.Length];
            var count = perService[service] = perService.GetValueOrDefault(service) + 1;
            machines.Add(FleetDefinition.Pump(number) with
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"{service} {count}"),
                Location = location,
                Criticality = criticality,
            });
        }
        return new FleetDefinition { Seed = seed, Machines = machines };
    }

    /// <summary>Every machine of <paramref name="fleet"/> as a maintained twin on the plant's time scale, at its staggered start age.</summary>
    public static IReadOnlyList<MaintainedMachine> Create(FleetDefinition fleet, PlantOptions plant, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(plant);
        if (plant.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(plant));
        }
        var ages = StartAges(fleet);
        var twin = plant.Twin;
        return [.. fleet.Machines.Select((m, i) => new MaintainedMachine(m, fleet.SeedFor(m.MachineId), twin, plant.RepairTime, logger, ages[i]))];
    }

    /// <summary>
    /// The share of its own life each machine has run when the plant starts: stratified (one in each n-th of
    /// [0, 1), jittered), then shuffled over the machines, all from the fleet's seed. Stratified rather than
    /// independent draws, so a small fleet neither starts all new nor all worn out.
    /// </summary>
    public static double[] StartAges(FleetDefinition fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        var random = new Random(fleet.SeedFor("plant/start-ages"));
        var count = fleet.Machines.Count;
        var ages = new double[count];
        for (var k = 0; k < count; k++)
        {
            ages[k] = (k + random.NextDouble()) / count;
        }
        random.Shuffle(ages);
        return ages;
    }

    /// <summary>The states of <paramref name="machines"/> at their latest steps; a machine not stepped yet counts as healthy.</summary>
    public static PlantCensus Census(IEnumerable<MaintainedMachine> machines)
    {
        ArgumentNullException.ThrowIfNull(machines);
        int healthy = 0, degrading = 0, failed = 0, replacements = 0;
        foreach (var machine in machines)
        {
            replacements += machine.Replacements;
            switch (machine.LastTruth?.State ?? MachineState.Healthy)
            {
                case MachineState.Healthy:
                    healthy++;
                    break;
                case MachineState.Broken:
                    failed++;
                    break;
                default:
                    degrading++;
                    break;
            }
        }
        return new PlantCensus(healthy, degrading, failed, replacements);
    }
}
