namespace Pdm.Testing;

/// <summary>Where things are in the checkout, found from the test assembly's folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The function app's build output (handler, host.json, function folders) for this configuration.</summary>
    public static string FunctionApp
    {
        get
        {
            // Test assemblies live in tests/<Project>/bin/<Configuration>/net10.0/.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(Root, "functions", "bin", configuration, "net10.0");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pdm.Serverless.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Pdm.Serverless.sln above {AppContext.BaseDirectory}");
    }
}
