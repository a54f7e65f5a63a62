using System.Text;

namespace Pdm.Telemetry.Tests;

/// <summary>The broker context every test decodes with, and small helpers around it.</summary>
internal static class Messages
{
    public static readonly DateTimeOffset EnqueuedTime = new(2026, 11, 21, 8, 20, 0, TimeSpan.Zero);
    public static readonly DecodeContext Context = new("EG_M001", EnqueuedTime);

    public static DecodeResult Decode(string json) => TelemetryDecoder.Decode(Encoding.UTF8.GetBytes(json), Context);

    public static DecodeResult DecodeFile(string name) =>
        TelemetryDecoder.Decode(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", name)), Context);

    /// <summary>A v1 message around the given machine sample objects.</summary>
    public static string V1(params string[] machines) =>
        $$"""{"schema":"pdm.telemetry.v1","machines":[{{string.Join(",", machines)}}]}""";

    /// <summary>A valid v1 machine sample with the given values object and optional extra properties.</summary>
    public static string Machine(string values = """{"temperature":71.4}""", string id = "EG_M001",
        string timestamp = "\"2026-11-21T08:15:00.250Z\"", string seq = "1042", string? units = null) =>
        $$"""{"machineId":"{{id}}","timestamp":{{timestamp}},"seq":{{seq}},"values":{{values}}{{(units is null ? "" : $",\"units\":{units}")}}}""";

    public static DecodeError SingleError(DecodeResult result)
    {
        Assert.Empty(result.Samples);
        return Assert.Single(result.Errors);
    }
}
