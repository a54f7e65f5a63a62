using Pdm.Simulator;
using Pdm.Simulator.Twin;

namespace Pdm.Cli.Tests;

/// <summary>Small labelled run-to-failure files from the twin (Stress mode: a few hundred rows per pump).</summary>
internal static class TwinData
{
    private static readonly RunToFailureOptions Options = new()
    {
        Machines = 6,
        Kinds = [MachineKind.CentrifugalPump],
        Twin = new TwinOptions { Mode = TwinMode.Stress },
        Seed = 3,
    };

    /// <summary>unit,time,&lt;pump sensors&gt;,wear,state,rul.</summary>
    public static async Task<string> WriteRunsAsync(string folder)
    {
        var path = Path.Combine(folder, $"runs-{Guid.NewGuid():N}.csv");
        await using var writer = new StreamWriter(path);
        await RunToFailureExporter.ExportAsync(writer, Options, progress: null, CancellationToken.None);
        return path;
    }
}
