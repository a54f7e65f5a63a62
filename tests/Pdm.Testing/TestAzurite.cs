using Pdm.LocalStack;

namespace Pdm.Testing;

/// <summary>Azurite for a test fixture: the repository's own install (.pdm/tools), on free loopback ports.</summary>
public static class TestAzurite
{
    /// <summary>Starts Azurite with its state in <paramref name="stateDirectory"/> (the caller removes it).</summary>
    public static async Task<AzuriteServer> StartAsync(string stateDirectory)
    {
        var executable = AzuriteServer.FindExecutable(RepoPaths.Root)
            ?? throw new InvalidOperationException($"Azurite is not installed under {RepoPaths.Root}/.pdm/tools: run scripts/setup.sh first.");
        var server = new AzuriteServer(stateDirectory, executable, FreePort.Pick(), FreePort.Pick(), FreePort.Pick());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await server.StartAsync(timeout.Token);
        return server;
    }
}
