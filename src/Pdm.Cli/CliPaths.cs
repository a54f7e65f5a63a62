namespace Pdm.Cli;

/// <summary>Folders the CLI works with; ./pdm passes the repository root and the function app's build.</summary>
internal static class CliPaths
{
    public static string RepoRoot { get; } =
        Environment.GetEnvironmentVariable("PDM_REPO_ROOT") ?? Directory.GetCurrentDirectory();

    /// <summary>Local state of the demo and of `pdm stack up`: kept between runs so the data stays.</summary>
    public static string LocalState => Path.Combine(RepoRoot, ".pdm", "local");

    public static string FunctionApp { get; } =
        Environment.GetEnvironmentVariable("PDM_FUNCTIONS_DIR") ?? Path.Combine(RepoRoot, "functions", "bin", "Release", "net10.0");

    public static string EdgeModule { get; } =
        Environment.GetEnvironmentVariable("PDM_EDGE_DIR") ?? Path.Combine(RepoRoot, "edge-module", "bin", "Release", "net10.0");

    /// <summary>A path as the user sees it from the repository root, for messages.</summary>
    public static string Relative(string path) => Path.GetRelativePath(RepoRoot, path);

    /// <summary>The database the demo and `pdm stack up` use on the local PostgreSQL.</summary>
    public const string LocalDatabaseName = "pdm";
}
