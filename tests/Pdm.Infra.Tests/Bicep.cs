using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Pdm.Testing;

namespace Pdm.Infra.Tests;

/// <summary>The Bicep compiler from the NuGet package cache (Azure.Bicep.CommandLine.linux-x64), and main.bicep compiled once.</summary>
internal static class Bicep
{
    public static string InfraDirectory { get; } = Path.Combine(RepoPaths.Root, "infra");

    public static string MainFile { get; } = Path.Combine(InfraDirectory, "main.bicep");

    private static readonly Lazy<JsonObject> Main = new(() =>
    {
        var result = Run("build", MainFile, "--stdout");
        Assert.True(result.ExitCode == 0 && result.Diagnostics.Count == 0,
            $"bicep build main.bicep: exit {result.ExitCode}\n{string.Join('\n', result.Diagnostics)}");
        return JsonNode.Parse(result.Output)!.AsObject();
    });

    /// <summary>main.bicep as ARM JSON, modules inlined as nested deployments.</summary>
    public static JsonObject MainTemplate => Main.Value;

    public static string CompilerPath
    {
        get
        {
            var path = typeof(Bicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;
            Assert.True(File.Exists(path), $"The Bicep compiler is not at {path}: restore tests/Pdm.Infra.Tests (PackageDownload).");
            if (OperatingSystem.IsWindows())
            {
                return path;
            }
            // Package extraction does not always keep the executable bit.
            var mode = File.GetUnixFileMode(path);
            if (!mode.HasFlag(UnixFileMode.UserExecute))
            {
                File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
            }
            return path;
        }
    }

    public static BicepResult Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(CompilerPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = InfraDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in 3 minutes");
        }
        var diagnostics = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new BicepResult(process.ExitCode, output.Result, diagnostics);
    }

    /// <summary>Every resource the template deploys (not <c>existing</c> references), nested deployments' included.</summary>
    public static IEnumerable<JsonObject> Resources(JsonObject template)
    {
        var resources = template["resources"] switch
        {
            JsonObject byName => byName.Select(p => p.Value!.AsObject()),
            JsonArray list => list.Select(r => r!.AsObject()),
            _ => [],
        };
        foreach (var resource in resources)
        {
            if (resource["existing"]?.GetValue<bool>() == true)
            {
                continue;
            }
            yield return resource;
            if (Type(resource) == "Microsoft.Resources/deployments" && resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in Resources(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>The main template and every nested deployment's template.</summary>
    public static IEnumerable<JsonObject> Templates(JsonObject template)
    {
        yield return template;
        foreach (var deployment in Resources(template).Where(r => Type(r) == "Microsoft.Resources/deployments"))
        {
            if (deployment["properties"]?["template"] is JsonObject nested)
            {
                yield return nested;
            }
        }
    }

    public static string Type(JsonObject resource) => resource["type"]!.GetValue<string>();
}

internal sealed record BicepResult(int ExitCode, string Output, IReadOnlyList<string> Diagnostics);
