using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pdm.Webhooks.Tests;

/// <summary>
/// The Standard Webhooks reference verifier (npm standardwebhooks 1.1.1, installed into .pdm/tools by
/// scripts/setup.sh) run by node. Missing node or the package fails the test: the interop check is the point.
/// </summary>
public static class ReferenceVerifier
{
    /// <summary>For each secret, "ok" or the reference verifier's reason for refusing the message.</summary>
    public static async Task<IReadOnlyList<string>> VerifyAsync(string payload, IReadOnlyDictionary<string, string> headers, params string[] secrets)
    {
        var modules = Path.Combine(RepoRoot.Path, ".pdm", "tools", "node_modules");
        if (!File.Exists(Path.Combine(modules, "standardwebhooks", "package.json")))
        {
            throw new InvalidOperationException($"standardwebhooks is not installed in {modules}: run scripts/setup.sh (./pdm test does).");
        }
        var startInfo = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["NODE_PATH"] = modules },
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "standardwebhooks-verify.js"));
        var request = new JsonObject
        {
            ["payload"] = payload,
            ["headers"] = new JsonObject(headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))),
            ["secrets"] = new JsonArray([.. secrets.Select(s => (JsonNode?)s)]),
        };

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot run node (Node 20 is required for the webhook interop tests): {ex.Message}", ex);
        }
        await process.StandardInput.WriteAsync(request.ToJsonString());
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"standardwebhooks verifier exited with {process.ExitCode}: {await errors}");
        return JsonSerializer.Deserialize<string[]>(await output) ?? throw new InvalidOperationException("verifier printed null");
    }
}

/// <summary>The checkout's root, found from the test assembly's folder.</summary>
public static class RepoRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Pdm.Serverless.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Pdm.Serverless.sln above {AppContext.BaseDirectory}");
    }
}
