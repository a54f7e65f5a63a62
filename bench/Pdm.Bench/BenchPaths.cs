namespace Pdm.Bench;

/// <summary>Folders the benchmarks work with; ./pdm passes the repository root and the builds of the function app and the edge module.</summary>
internal static class BenchPaths
{
    public static string RepoRoot { get; } =
        Environment.GetEnvironmentVariable("PDM_REPO_ROOT") ?? Directory.GetCurrentDirectory();

    public static string FunctionApp { get; } =
        Environment.GetEnvironmentVariable("PDM_FUNCTIONS_DIR") ?? Path.Combine(RepoRoot, "functions", "bin", "Release", "net10.0");

    public static string EdgeModule { get; } =
        Environment.GetEnvironmentVariable("PDM_EDGE_DIR") ?? Path.Combine(RepoRoot, "edge-module", "bin", "Release", "net10.0");

    /// <summary>NASA C-MAPSS, where `pdm model` looks for it too.</summary>
    public static string DefaultCmapss => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets", "cmapss"));
}
