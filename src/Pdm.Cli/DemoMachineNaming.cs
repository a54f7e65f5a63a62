using Pdm.Simulator;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>
/// Gives the demo plant's machines their names and kinds in pdm.machines, once ingest has registered each from its
/// first readings (registering them first would leave their first device empty). The location waits for the
/// machines API that sets it (<c>PATCH /api/v1/machines/{id}</c>); the demo prints it meanwhile.
/// </summary>
internal sealed class MachineNaming(MachineStore machines, Guid tenantId, FleetDefinition fleet)
{
    private readonly Dictionary<string, MachineProfile> _pending = fleet.Machines.ToDictionary(m => m.MachineId, StringComparer.Ordinal);

    /// <summary>Names the machines registered since the last call; a database that is away is tried again next time.</summary>
    public async Task TryNameAsync()
    {
        if (_pending.Count == 0)
        {
            return;
        }
        try
        {
            foreach (var machine in await machines.ListMachinesAsync(tenantId, CancellationToken.None))
            {
                if (!_pending.TryGetValue(machine.MachineId, out var profile))
                {
                    continue;
                }
                if (machine.Name != profile.Name || machine.Kind != profile.Kind.ToString())
                {
                    await machines.UpsertMachineAsync(tenantId, profile.MachineId, profile.Name, profile.Kind.ToString(), CancellationToken.None);
                }
                _pending.Remove(machine.MachineId);
            }
        }
        catch (Npgsql.NpgsqlException)
        {
            // Ingest parks and replays while the database is away; the names follow when it is back.
        }
    }
}
