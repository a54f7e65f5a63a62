using System.Text.Json;

namespace Pdm.Storage;

/// <summary>One machine of the fleet overview (times in hours, probabilities 0..1, health 0..1).</summary>
public sealed record FleetMachine(string MachineId, string? Name, string? Kind, string? Location, string? Criticality, double? Health, string Risk, double? RulHours,
    double? RulP10Hours, double? RulP90Hours, double? Failure24h, double? Failure48h, string? IsoZone, int OpenAlerts,
    string? WorstOpenSeverity, DateTimeOffset? LastSeen, bool Silent);

/// <summary>The fleet at a glance, machines worst first.</summary>
public sealed record FleetOverview(DateTimeOffset GeneratedAt, int MachineCount, double? AverageHealth,
    IReadOnlyDictionary<string, int> MachinesByRisk, IReadOnlyDictionary<string, int> OpenAlertsBySeverity,
    int FailuresWithin24h, int FailuresWithin48h, int SilentMachines, IReadOnlyList<FleetMachine> Machines)
{
    /// <summary>A failure counts as predicted within a horizon when its probability is at least this.</summary>
    public const double FailureLikely = 0.5;

    private static readonly string[] Risks = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "UNKNOWN"];
    private static readonly string[] Severities = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

    // The expected condition of a machine on a 0..1 scale: each health class's weight, averaged by its probability.
    private static readonly Dictionary<string, double> HealthWeights = new(StringComparer.Ordinal)
    {
        ["HEALTHY"] = 1.0, ["WARNING"] = 2.0 / 3, ["FAULTY"] = 1.0 / 3, ["BROKEN"] = 0.0,
    };

    /// <summary>
    /// Builds the overview: health from the latest prediction, risk UNKNOWN without one, silent when the last sample is
    /// older than <paramref name="silentAfter"/> (or there is none); ordered by open CRITICAL alerts, then risk, then
    /// lowest health (unknown health after known), then machine id.
    /// </summary>
    public static FleetOverview From(IReadOnlyList<FleetMachineRow> rows, IReadOnlyDictionary<string, int> openAlertsBySeverity,
        DateTimeOffset now, TimeSpan silentAfter)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(openAlertsBySeverity);
        var machines = rows
            .Select(row => (Row: row, Machine: new FleetMachine(row.MachineId, row.Name, row.Kind, row.Location, row.Criticality,
                Health(row.HealthLabel, row.HealthProbabilitiesJson), row.Risk ?? "UNKNOWN", Hours(row.RulSeconds),
                Hours(row.RulP10Seconds), Hours(row.RulP90Seconds), row.FailureProbability24h, row.FailureProbability48h, row.IsoZone,
                row.OpenAlerts, row.WorstOpenSeverity, row.LastSeen, row.LastSeen is not { } seen || now - seen > silentAfter)))
            .OrderByDescending(m => m.Row.OpenCriticalAlerts)
            .ThenByDescending(m => RiskRank(m.Machine.Risk))
            .ThenBy(m => m.Machine.Health ?? double.MaxValue)
            .ThenBy(m => m.Machine.MachineId, StringComparer.Ordinal)
            .Select(m => m.Machine)
            .ToList();
        var healths = machines.Where(m => m.Health is not null).Select(m => m.Health!.Value).ToList();
        return new FleetOverview(now, machines.Count, healths.Count == 0 ? null : healths.Average(),
            Risks.ToDictionary(r => r, r => machines.Count(m => m.Risk == r), StringComparer.Ordinal),
            Severities.ToDictionary(s => s, s => openAlertsBySeverity.GetValueOrDefault(s), StringComparer.Ordinal),
            machines.Count(m => m.Failure24h >= FailureLikely), machines.Count(m => m.Failure48h >= FailureLikely),
            machines.Count(m => m.Silent), machines);
    }

    /// <summary>0..1 from the class probabilities (or the label alone when a model gave none); null when unknown.</summary>
    public static double? Health(string? label, string? probabilitiesJson)
    {
        if (probabilitiesJson is { Length: > 2 })
        {
            using var document = JsonDocument.Parse(probabilitiesJson);
            double weighted = 0, total = 0;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (HealthWeights.TryGetValue(property.Name, out var weight) && property.Value.ValueKind == JsonValueKind.Number)
                {
                    var p = property.Value.GetDouble();
                    weighted += p * weight;
                    total += p;
                }
            }
            if (total > 0)
            {
                return weighted / total;
            }
        }
        return label is not null && HealthWeights.TryGetValue(label, out var only) ? only : null;
    }

    private static int RiskRank(string risk) => Array.IndexOf(Risks, risk) switch
    {
        4 => 0, // UNKNOWN below LOW
        var i => i + 1,
    };

    private static double? Hours(double? seconds) => seconds / 3600;
}
