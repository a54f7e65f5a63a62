using System.Text.Json;
using System.Text.RegularExpressions;
using Pdm.Edge.Configuration;
using Pdm.Testing;

namespace Pdm.Edge.Tests.Configuration;

/// <summary>The published schema, the guide's examples and the parser describe the same document.</summary>
public sealed partial class EdgeConfigurationSchemaTests
{
    private static readonly string SchemaPath = Path.Combine(RepoPaths.Root, "docs", "edge-configuration.schema.json");
    private static readonly string GuidePath = Path.Combine(RepoPaths.Root, "docs", "edge-configuration.md");

    [Fact]
    public void Schema_is_valid_json_declaring_draft_2020_12()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(SchemaPath));

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.RootElement.GetProperty("$schema").GetString());
        Assert.False(schema.RootElement.GetProperty("additionalProperties").GetBoolean());
    }

    [Fact]
    public void Parser_evaluates_the_published_schema()
    {
        using var published = JsonDocument.Parse(File.ReadAllText(SchemaPath));

        Assert.True(JsonElement.DeepEquals(published.RootElement, EdgeConfigurationSchema.Document));
    }

    [Fact]
    public void Every_schema_object_forbids_unknown_properties_like_the_parser()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        var open = schema.RootElement.GetProperty("$defs").EnumerateObject()
            .Where(d => d.Value.TryGetProperty("properties", out _))
            .Where(d => !d.Value.TryGetProperty("additionalProperties", out var additional) || additional.ValueKind != JsonValueKind.False)
            .Select(d => d.Name);

        Assert.Equal([], open);
    }

    [Fact]
    public void Full_sample_sets_every_property_the_schema_knows()
    {
        // The parser reads the sample with properties it does not map disallowed, so this also proves that every
        // property the schema allows is read.
        using var schema = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        var known = new SortedSet<string>(StringComparer.Ordinal);
        Walk(schema.RootElement, schema.RootElement, "", known);
        using var sample = JsonDocument.Parse(ConfigurationSamples.Full);
        var used = new SortedSet<string>(StringComparer.Ordinal);
        CollectUsed(sample.RootElement, "", used);

        Assert.Equal([], known.Except(used));
        Assert.True(EdgeConfigurationParser.Parse(ConfigurationSamples.Full).IsValid);
    }

    [Fact]
    public void Every_complete_example_in_the_guide_is_accepted()
    {
        var examples = JsonBlock().Matches(File.ReadAllText(GuidePath))
            .Select(m => m.Groups["json"].Value)
            .Where(json => json.Contains("\"schemaVersion\"", StringComparison.Ordinal))
            .ToList();

        Assert.True(examples.Count >= 6, $"expected the guide's examples, found {examples.Count}");
        Assert.All(examples, json =>
        {
            var result = EdgeConfigurationParser.Parse(json);
            Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors) + Environment.NewLine + json);
        });
    }

    [Fact]
    public void Guide_names_every_top_level_section()
    {
        var guide = File.ReadAllText(GuidePath);

        var sections = EdgeConfigurationSchema.Document.GetProperty("properties").EnumerateObject().Select(p => p.Name);

        Assert.All(sections, property => Assert.Contains($"`{property}`", guide, StringComparison.Ordinal));
    }

    /// <summary>Property paths a schema node allows, in the parser's notation (<c>a[].b</c>, <c>m.*.c</c>).</summary>
    private static void Walk(JsonElement root, JsonElement node, string prefix, SortedSet<string> paths)
    {
        if (node.TryGetProperty("$ref", out var reference))
        {
            var target = root;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
            {
                target = target.GetProperty(part);
            }
            Walk(root, target, prefix, paths);
        }
        if (node.TryGetProperty("properties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                var path = prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}";
                paths.Add(path);
                Walk(root, property.Value, path, paths);
            }
        }
        if (node.TryGetProperty("items", out var items))
        {
            Walk(root, items, prefix + "[]", paths);
        }
        if (node.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
        {
            Walk(root, additional, prefix + ".*", paths);
        }
        foreach (var branch in (string[])["then", "else"])
        {
            if (node.TryGetProperty(branch, out var conditional))
            {
                Walk(root, conditional, prefix, paths);
            }
        }
        foreach (var combinator in (string[])["oneOf", "anyOf", "allOf"])
        {
            if (node.TryGetProperty(combinator, out var options))
            {
                foreach (var option in options.EnumerateArray())
                {
                    Walk(root, option, prefix, paths);
                }
            }
        }
    }

    /// <summary>Property paths a document sets, with array indexes as [] and sensor names as *.</summary>
    private static void CollectUsed(JsonElement element, string prefix, SortedSet<string> paths)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                CollectUsed(item, prefix + "[]", paths);
            }
            return;
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var property in element.EnumerateObject())
        {
            var isMap = prefix.EndsWith(".sensors", StringComparison.Ordinal);
            var path = isMap ? prefix + ".*" : prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}";
            paths.Add(path);
            // Header values are plain strings; only sensor maps nest mapping objects.
            if (!prefix.EndsWith(".headers", StringComparison.Ordinal))
            {
                CollectUsed(property.Value, path, paths);
            }
        }
    }

    [GeneratedRegex("```json\\n(?<json>.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
