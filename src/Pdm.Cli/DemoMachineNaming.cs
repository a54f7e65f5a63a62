using System.Net;
using System.Net.Http.Json;
using Pdm.Simulator;

namespace Pdm.Cli;

/// <summary>
/// Describes the demo plant's machines (name, kind, location, criticality) through the API, as an admin would
/// (<c>PATCH /api/v1/machines/{id}</c>), once ingest has registered each from its first readings: until then the
/// machine is a 404 and is tried again at the next call.
/// </summary>
internal sealed class MachineNaming(HttpClient api, FleetDefinition fleet)
{
    private readonly Dictionary<string, MachineProfile> _pending = fleet.Machines.ToDictionary(m => m.MachineId, StringComparer.Ordinal);

    /// <summary>Describes the machines registered since the last call; an API that is away is tried again next time.</summary>
    public async Task TryNameAsync()
    {
        foreach (var profile in _pending.Values.ToList())
        {
            try
            {
                using var response = await api.PatchAsJsonAsync($"api/v1/machines/{Uri.EscapeDataString(profile.MachineId)}",
                    new { name = profile.Name, kind = profile.Kind.ToString(), location = profile.Location, criticality = profile.Criticality });
                if (response.IsSuccessStatusCode)
                {
                    _pending.Remove(profile.MachineId);
                }
                else if (response.StatusCode != HttpStatusCode.NotFound)
                {
                    Console.Error.WriteLine($"demo: describing {profile.MachineId} was refused ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
                    _pending.Remove(profile.MachineId);
                }
            }
            catch (HttpRequestException)
            {
                // The host restarts under the demo's watch; the descriptions follow when it is back.
            }
        }
    }
}
