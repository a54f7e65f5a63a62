using System.Text.Json.Nodes;

namespace Pdm.DevHost.Tests;

/// <summary>A throwaway function app folder (host.json + function folders) plus the file the test handler records into.</summary>
public sealed class TestFunctionApp : IDisposable
{
    public const string DefaultHostJson = """
        {
          "version": "2.0",
          "customHandler": { "description": { "defaultExecutablePath": "handler" }, "enableProxyingHttpRequest": true },
          "extensions": { "eventHubs": { "maxEventBatchSize": 10 } }
        }
        """;

    public TestFunctionApp()
    {
        Directory = Path.Combine(Path.GetTempPath(), "pdm-devhost-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        RecordFile = Path.Combine(Directory, "requests.jsonl");
    }

    public string Directory { get; }

    public string RecordFile { get; }

    public void WriteHost(string json) => File.WriteAllText(Path.Combine(Directory, "host.json"), json);

    public void WriteFunction(string name, string json)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, name));
        File.WriteAllText(Path.Combine(Directory, name, "function.json"), json);
    }

    /// <summary>Options that start the test handler (tests/Pdm.DevHost.Tests.Handler) against this folder.</summary>
    public DevHostOptions Options(IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["TEST_HANDLER_RECORD"] = RecordFile,
        };
        return new DevHostOptions
        {
            FunctionAppDirectory = Directory,
            HandlerCommand = "dotnet",
            HandlerArguments = [Path.Combine(AppContext.BaseDirectory, "Pdm.DevHost.Tests.Handler.dll")],
            Environment = environment,
        };
    }

    /// <summary>Everything the handler recorded so far, one JSON object per request (or start).</summary>
    public IReadOnlyList<JsonObject> Records()
    {
        if (!File.Exists(RecordFile))
        {
            return [];
        }

        using var stream = new FileStream(RecordFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var records = new List<JsonObject>();
        while (reader.ReadLine() is { } line)
        {
            // The last line may still be half written; it is read again on the next poll.
            if (line.EndsWith('}'))
            {
                records.Add(JsonNode.Parse(line)!.AsObject());
            }
        }

        return records;
    }

    public IReadOnlyList<JsonObject> Invocations(string function) =>
        [.. Records().Where(r => (string?)r["Kind"] == "invoke" && (string?)r["Function"] == function)];

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test with what was recorded after the timeout.</summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForAsync(Func<IReadOnlyList<JsonObject>, bool> condition, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var records = Records();
            if (condition(records))
            {
                return records;
            }

            try
            {
                await Task.Delay(50, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Condition not met within the timeout; handler recorded:{Environment.NewLine}"
                    + string.Join(Environment.NewLine, records.Select(r => r.ToJsonString())));
            }
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is cleaned by the OS eventually; a lingering handler file handle is no test failure.
        }
    }
}
