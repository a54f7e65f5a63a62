using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Pdm.Testing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pdm.Infra.Tests;

/// <summary>azure.yaml against azd's published schema (Schemas/azure.yaml.json, source in Schemas/README.md).</summary>
public sealed class AzureYamlTests
{
    private static readonly string AzureYaml = Path.Combine(RepoPaths.Root, "azure.yaml");

    private static readonly string SchemaFolder = Path.Combine(AppContext.BaseDirectory, "Schemas");

    private static readonly JsonSchema Schema = LoadSchema();

    [Fact]
    public void Azure_yaml_is_valid_against_the_azd_schema()
    {
        var errors = Validate(File.ReadAllText(AzureYaml));

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void The_schema_check_rejects_what_azd_would_reject()
    {
        // A hook shell azd does not know, and a service without its host.
        var yaml = File.ReadAllText(AzureYaml).Replace("    shell: sh", "    shell: bash", StringComparison.Ordinal);

        Assert.NotEmpty(Validate(yaml));
        Assert.NotEmpty(Validate("name: pdm-serverless\nservices:\n  functions:\n    project: .\n"));
    }

    [Fact]
    public void The_service_deploys_the_zip_the_package_script_builds_and_the_hooks_exist()
    {
        var root = ToJson(File.ReadAllText(AzureYaml))!;
        var service = root["services"]!["functions"]!;

        Assert.Equal("./out/functions.zip", service["dist"]!.GetValue<string>());
        Assert.Equal("function", service["host"]!.GetValue<string>());
        var scripts = new[] { service["hooks"]!["prepackage"]!, root["hooks"]!["preprovision"]!, root["hooks"]!["postprovision"]! }
            .Select(hook => hook["run"]!.GetValue<string>());
        foreach (var script in scripts)
        {
            var path = Path.GetFullPath(Path.Combine(RepoPaths.Root, script));
            Assert.True(File.Exists(path), $"hook script {script} does not exist");
            Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute), $"{script} is not executable");
        }
    }

    private static List<string> Validate(string yaml)
    {
        using var document = JsonDocument.Parse(ToJson(yaml)!.ToJsonString());
        var result = Schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid
            ? []
            : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))];
    }

    /// <summary>
    /// The schema and the extension schemas it refers to by URL (copies from the same commit under Schemas/cli/), registered
    /// under those URLs: there is no network here.
    /// </summary>
    private static JsonSchema LoadSchema()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(SchemaFolder, "cli"), "*.json", SearchOption.AllDirectories))
        {
            var url = new Uri($"https://raw.githubusercontent.com/Azure/azure-dev/main/{Path.GetRelativePath(SchemaFolder, file).Replace('\\', '/')}");
            SchemaRegistry.Global.Register(url, JsonSchema.FromText(File.ReadAllText(file)));
        }
        return JsonSchema.FromText(File.ReadAllText(Path.Combine(SchemaFolder, "azure.yaml.json")));
    }

    /// <summary>YAML to JSON with YAML 1.2 core-schema scalars (plain true/false/null/numbers are not strings).</summary>
    private static JsonNode? ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(p =>
            KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, Convert(p.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(Convert)]),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => Plain(scalar.Value ?? ""),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new NotSupportedException(node.GetType().Name),
    };

    private static JsonValue? Plain(string value) => value switch
    {
        "true" or "True" or "TRUE" => JsonValue.Create(true),
        "false" or "False" or "FALSE" => JsonValue.Create(false),
        "" or "~" or "null" or "Null" or "NULL" => null,
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => JsonValue.Create(real),
        _ => JsonValue.Create(value),
    };
}
