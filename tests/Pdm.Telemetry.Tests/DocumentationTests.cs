using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pdm.Telemetry.Tests;

/// <summary>Keeps docs/telemetry-v1.md and its JSON Schema in step with the code.</summary>
public sealed partial class DocumentationTests
{
    private static readonly string DocsFolder = FindDocs();

    [Fact]
    public void Json_schema_states_the_decoder_limits()
    {
        using var schema = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DocsFolder, "telemetry-v1.schema.json")));
        var root = schema.RootElement;
        var machines = root.GetProperty("properties").GetProperty("machines");
        var sample = root.GetProperty("$defs").GetProperty("machineSample").GetProperty("properties");

        Assert.Equal(TelemetryEncoder.SchemaId, root.GetProperty("properties").GetProperty("schema").GetProperty("const").GetString());
        Assert.Equal(TelemetryDecoder.MaxSamplesPerMessage, machines.GetProperty("maxItems").GetInt32());
        Assert.Equal(TelemetryDecoder.MaxValuesPerSample, sample.GetProperty("values").GetProperty("maxProperties").GetInt32());
        Assert.Equal($"^[A-Za-z0-9_.:-]{{1,{TelemetryDecoder.MaxIdLength}}}$", sample.GetProperty("machineId").GetProperty("pattern").GetString());
        Assert.Equal(
            $"^[a-z][a-z0-9_]{{0,{SensorCatalog.MaxNameLength - 1}}}$",
            root.GetProperty("$defs").GetProperty("sensorName").GetProperty("pattern").GetString());
    }

    [Fact]
    public void Doc_lists_every_catalog_sensor_with_its_unit()
    {
        var doc = File.ReadAllText(Path.Combine(DocsFolder, "telemetry-v1.md"));

        Assert.All(SensorCatalog.All, d => Assert.Contains($"| `{d.Name}` | {d.Unit} |", doc, StringComparison.Ordinal));
    }

    [Fact]
    public void Doc_examples_decode_as_described()
    {
        var doc = File.ReadAllText(Path.Combine(DocsFolder, "telemetry-v1.md"));
        var examples = JsonBlock().Matches(doc).Select(m => m.Groups[1].Value).ToList();
        var context = Messages.Context with { EnqueuedTime = new DateTimeOffset(2026, 11, 21, 8, 16, 0, TimeSpan.Zero) };

        Assert.Equal(2, examples.Count);
        var message = TelemetryDecoder.Decode(Encoding.UTF8.GetBytes(examples[0]), context);
        Assert.True(message.IsClean, string.Join("; ", message.Errors));
        Assert.Equal(2, message.Samples.Count);
        var plain = TelemetryDecoder.Decode(Encoding.UTF8.GetBytes(examples[1]), context);
        Assert.True(plain.IsClean, string.Join("; ", plain.Errors));
    }

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    private static string FindDocs()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var docs = Path.Combine(folder.FullName, "docs");
            if (File.Exists(Path.Combine(docs, "telemetry-v1.md")))
            {
                return docs;
            }
        }
        throw new DirectoryNotFoundException("docs/telemetry-v1.md not found above " + AppContext.BaseDirectory);
    }
}
