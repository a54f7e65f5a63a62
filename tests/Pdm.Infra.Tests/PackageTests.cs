using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Pdm.Testing;

namespace Pdm.Infra.Tests;

/// <summary>
/// The zip azd deploys, built by the same script its prepackage hook runs: the layout the Functions host expects
/// on Linux (host.json at the root, one folder per function, the handler executable where host.json points).
/// </summary>
public sealed class PackageTests : IClassFixture<PackageTests.Package>
{
    private readonly Package _package;

    public PackageTests(Package package) => _package = package;

    [Fact]
    public void Host_json_is_at_the_root_and_names_the_handler_it_ships()
    {
        var host = JsonNode.Parse(_package.Read("host.json"))!;
        var executable = host["customHandler"]!["description"]!["defaultExecutablePath"]!.GetValue<string>();

        Assert.Equal("handler", executable);
        Assert.NotNull(_package.Zip.GetEntry(executable));
    }

    [Fact]
    public void The_handler_is_an_executable_with_mode_0755()
    {
        var handler = _package.Zip.GetEntry("handler")!;
        // Unix mode in the high 16 bits of the external attributes (zip made on Unix).
        var mode = (handler.ExternalAttributes >> 16) & 0x1FF;

        Assert.Equal(Convert.ToInt32("755", 8), mode);
        // An ELF binary: the self-contained linux-x64 apphost, not a managed dll.
        using var stream = handler.Open();
        var magic = new byte[4];
        stream.ReadExactly(magic);
        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], magic);
    }

    [Fact]
    public void Every_function_folder_is_at_the_root_with_its_function_json()
    {
        var functions = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "functions"), "function.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Combine(RepoPaths.Root, "functions"), f).Replace('\\', '/'))
            .Where(f => f.Count(c => c == '/') == 1)
            .ToList();

        Assert.NotEmpty(functions);
        Problems.None(functions.Where(f => _package.Zip.GetEntry(f) is null), "function.json missing from the package");
        Problems.None(functions.Where(f => _package.Read(f) != File.ReadAllText(Path.Combine(RepoPaths.Root, "functions", f))),
            "function.json in the package differs from the source");
    }

    [Fact]
    public void It_is_self_contained_without_local_settings()
    {
        Assert.NotNull(_package.Zip.GetEntry("libcoreclr.so"));
        Assert.Null(_package.Zip.GetEntry("local.settings.json"));
    }

    [Fact]
    public void Static_folders_the_app_builds_are_in_the_package()
    {
        // A folder of the function app's build output with an index.html is a static site the app serves (the dashboard).
        // Only the build output's own folders: a runtime-specific build leaves a linux-x64/ copy of older files below it.
        var build = RepoPaths.FunctionApp;
        var sites = Directory.Exists(build)
            ? Directory.EnumerateDirectories(build).Where(d => File.Exists(Path.Combine(d, "index.html"))).ToList()
            : [];
        var missing = sites
            .SelectMany(site => Directory.EnumerateFiles(site!, "*", SearchOption.AllDirectories))
            .Select(file => Path.GetRelativePath(build, file).Replace('\\', '/'))
            .Where(file => _package.Zip.GetEntry(file) is null);

        Problems.None(missing, "static files of the build output missing from the package");
    }

    /// <summary>Runs scripts/package-functions.sh once into a temporary folder.</summary>
    public sealed class Package : IDisposable
    {
        private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("pdm-package-");

        public Package()
        {
            var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "package-functions.sh"));
            start.ArgumentList.Add(_folder.FullName);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(9)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("scripts/package-functions.sh did not finish in 9 minutes");
            }
            Assert.True(process.ExitCode == 0, $"package-functions.sh exited {process.ExitCode}:\n{output.Result}\n{error.Result}");
            Zip = ZipFile.OpenRead(Path.Combine(_folder.FullName, "functions.zip"));
        }

        public ZipArchive Zip { get; }

        public string Read(string entry)
        {
            using var reader = new StreamReader(Zip.GetEntry(entry)?.Open() ?? throw new InvalidOperationException($"{entry} is not in the package"));
            return reader.ReadToEnd();
        }

        public void Dispose()
        {
            Zip.Dispose();
            _folder.Delete(recursive: true);
        }
    }
}
