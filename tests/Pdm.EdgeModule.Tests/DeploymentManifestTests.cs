using System.Text.Json;
using System.Text.RegularExpressions;
using Pdm.Edge.Configuration;
using Pdm.Testing;

namespace Pdm.EdgeModule.Tests;

/// <summary>
/// The IoT Edge packaging in edge-module/: deployment.template.json (docs/azure-contracts.md 5.4), module.json and the
/// Dockerfile (5.5) and the OPC Publisher published-nodes example (7.2). No Docker here, so these check structure and
/// that the files agree with each other.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private const string OurModule = "pdmEdge";
    private const string OpcPublisherModule = "opcPublisher";

    /// <summary>Modules whose twin the manifest must set, and the desired properties each must carry.</summary>
    private static readonly Dictionary<string, string[]> RequiredDesiredProperties = new() { [OurModule] = ["config"] };

    private static readonly string ModuleFolder = Path.Combine(RepoPaths.Root, "edge-module");

    private static JsonElement Load(string fileName)
    {
        // Placeholders such as ${MODULES.edge-module} only ever appear inside strings, so the template is plain JSON.
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModuleFolder, fileName)));
        return document.RootElement.Clone();
    }

    private static JsonElement Manifest => Load("deployment.template.json").GetProperty("modulesContent");

    private static JsonElement EdgeAgent => Manifest.GetProperty("$edgeAgent").GetProperty("properties.desired");

    private static JsonElement EdgeHub => Manifest.GetProperty("$edgeHub").GetProperty("properties.desired");

    private static JsonElement Modules => EdgeAgent.GetProperty("modules");

    private static string[] DockerfileLines() => File.ReadAllLines(Path.Combine(ModuleFolder, "Dockerfile"));

    [Fact]
    public void Edge_agent_declares_runtime_and_system_modules()
    {
        Assert.Equal("1.1", EdgeAgent.GetProperty("schemaVersion").GetString());
        var runtime = EdgeAgent.GetProperty("runtime");
        Assert.Equal("docker", runtime.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.String, runtime.GetProperty("settings").GetProperty("minDockerVersion").ValueKind);

        var system = EdgeAgent.GetProperty("systemModules");
        Assert.StartsWith("mcr.microsoft.com/azureiotedge-agent:", Image(system.GetProperty("edgeAgent")), StringComparison.Ordinal);
        var edgeHub = system.GetProperty("edgeHub");
        Assert.StartsWith("mcr.microsoft.com/azureiotedge-hub:", Image(edgeHub), StringComparison.Ordinal);
        Assert.Equal("running", edgeHub.GetProperty("status").GetString());
        Assert.Equal("always", edgeHub.GetProperty("restartPolicy").GetString());
        foreach (var module in system.EnumerateObject())
        {
            CheckCreateOptions(module.Value, $"systemModules.{module.Name}");
        }
    }

    [Fact]
    public void Every_module_has_type_status_restart_policy_image_and_valid_create_options()
    {
        var names = Modules.EnumerateObject().Select(m => m.Name).ToList();
        Assert.Contains(OurModule, names);
        Assert.Contains(OpcPublisherModule, names);
        foreach (var module in Modules.EnumerateObject())
        {
            var settings = module.Value;
            Assert.Equal("docker", settings.GetProperty("type").GetString());
            Assert.Contains(settings.GetProperty("status").GetString(), (string[])["running", "stopped"]);
            Assert.Contains(settings.GetProperty("restartPolicy").GetString(), (string[])["always", "on-failure", "on-unhealthy", "never"]);
            Assert.False(string.IsNullOrWhiteSpace(Image(settings)), $"{module.Name} has no settings.image");
            CheckCreateOptions(settings, module.Name);
            if (settings.TryGetProperty("env", out var env))
            {
                foreach (var variable in env.EnumerateObject())
                {
                    Assert.True(variable.Value.TryGetProperty("value", out _), $"{module.Name}.env.{variable.Name} has no value");
                }
            }
        }
    }

    [Fact]
    public void Module_image_placeholders_name_a_folder_with_a_module_json()
    {
        var placeholders = Modules.EnumerateObject()
            .Select(m => Image(m.Value))
            .Select(image => ModulesPlaceholder().Match(image))
            .Where(match => match.Success)
            .Select(match => match.Groups["folder"].Value)
            .ToList();

        Assert.Equal(["edge-module"], placeholders);
        Assert.All(placeholders, folder => Assert.True(File.Exists(Path.Combine(RepoPaths.Root, folder, "module.json"))));
    }

    [Fact]
    public void Every_module_a_route_names_exists()
    {
        var routes = Routes();
        Assert.NotEmpty(routes);
        foreach (var (name, route) in routes)
        {
            var match = RouteSyntax().Match(route);
            Assert.True(match.Success, $"route {name} is not 'FROM <source> [WHERE <condition>] INTO <sink>': {route}");
            var source = match.Groups["source"].Value;
            var sink = match.Groups["sink"].Value;
            Assert.True(source == "/messages/*" || SourceModule().IsMatch(source), $"route {name} has an unknown source {source}");
            Assert.True(sink == "$upstream" || SinkModule().IsMatch(sink), $"route {name} has an unknown sink {sink}");
            foreach (var module in SourceModule().Matches(source).Concat(SinkModule().Matches(sink)).Select(m => m.Groups["module"].Value))
            {
                Assert.True(Modules.TryGetProperty(module, out _), $"route {name} names module '{module}', which is not under modules");
            }
        }
    }

    [Fact]
    public void Routes_send_our_telemetry_upstream_and_opc_publisher_output_to_our_opc_input()
    {
        var routes = Routes().Select(r => r.Route).ToList();

        Assert.Contains($"FROM /messages/modules/{OurModule}/outputs/telemetry INTO $upstream", routes);
        Assert.Contains($"FROM /messages/modules/{OpcPublisherModule}/* INTO BrokeredEndpoint(\"/modules/{OurModule}/inputs/opc\")", routes);
        Assert.Equal("1.1", EdgeHub.GetProperty("schemaVersion").GetString());
        Assert.True(EdgeHub.GetProperty("storeAndForwardConfiguration").GetProperty("timeToLiveSecs").GetInt32() > 0);
    }

    [Fact]
    public void Every_desired_properties_section_belongs_to_a_module_and_required_ones_are_there()
    {
        foreach (var section in Manifest.EnumerateObject().Where(s => s.Name is not "$edgeAgent" and not "$edgeHub"))
        {
            Assert.True(Modules.TryGetProperty(section.Name, out _), $"desired properties for '{section.Name}', which is not under modules");
            Assert.Equal(JsonValueKind.Object, section.Value.GetProperty("properties.desired").ValueKind);
        }
        foreach (var (module, properties) in RequiredDesiredProperties)
        {
            Assert.True(Modules.TryGetProperty(module, out _));
            var desired = Manifest.GetProperty(module).GetProperty("properties.desired");
            Assert.All(properties, property => Assert.True(desired.TryGetProperty(property, out _), $"{module} has no desired '{property}'"));
        }
    }

    [Fact]
    public void Desired_properties_obey_twin_limits()
    {
        foreach (var section in Manifest.EnumerateObject().Where(s => s.Name is not "$edgeAgent" and not "$edgeHub"))
        {
            var desired = section.Value.GetProperty("properties.desired");
            // IoT Hub refuses twin keys with '.', '$' or spaces, nesting deeper than 10, and desired properties over 32 KB.
            CheckTwinKeys(desired, section.Name, depth: 1);
            Assert.True(desired.GetRawText().Length < 32 * 1024, $"{section.Name} desired properties exceed 32 KB");
        }
    }

    [Fact]
    public void Our_module_config_is_a_version_1_document_with_a_modbus_tcp_device()
    {
        var config = Manifest.GetProperty(OurModule).GetProperty("properties.desired").GetProperty("config");

        Assert.Equal(1, config.GetProperty("schemaVersion").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(config.GetProperty("gatewayId").GetString()));
        var device = Assert.Single(config.GetProperty("modbus").EnumerateArray().ToList());
        Assert.True(device.GetProperty("tcp").TryGetProperty("host", out _));
        Assert.Equal(2, device.GetProperty("registers").GetArrayLength());
    }

    [Fact]
    public void Our_module_config_is_valid_for_the_module_configuration_parser()
    {
        // The document docs/edge-configuration.schema.json describes; the parser is what the module runs.
        var config = Manifest.GetProperty(OurModule).GetProperty("properties.desired").GetProperty("config");

        var result = EdgeConfigurationParser.Parse(config.GetRawText());

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(2, Assert.Single(result.Configuration.Modbus).Points.Count);
        Assert.Equal("EG_M008", Assert.Single(result.Configuration.Opc.Mappings).MachineId);
    }

    [Fact]
    public void Data_volume_of_the_manifest_is_the_volume_of_the_image()
    {
        var binds = Modules.GetProperty(OurModule).GetProperty("settings").GetProperty("createOptions")
            .GetProperty("HostConfig").GetProperty("Binds").EnumerateArray().Select(b => b.GetString()!).ToList();
        var volume = Assert.Single(DockerfileLines(), l => l.StartsWith("VOLUME ", StringComparison.Ordinal));
        var dataDirectory = Modules.GetProperty(OurModule).GetProperty("env").GetProperty("Edge__DataDirectory").GetProperty("value").GetString();

        var target = Assert.Single(binds).Split(':')[1];
        Assert.Contains($"\"{target}\"", volume, StringComparison.Ordinal);
        Assert.Equal(target, dataDirectory);
        Assert.Contains($"ENV Edge__DataDirectory={target}", DockerfileLines());
    }

    [Fact]
    public void Opc_publisher_reads_its_published_nodes_from_its_bind_mount_in_pubsub_json()
    {
        var createOptions = Modules.GetProperty(OpcPublisherModule).GetProperty("settings").GetProperty("createOptions");
        var arguments = createOptions.GetProperty("Cmd").EnumerateArray().Select(a => a.GetString()!).ToList();
        var bind = Assert.Single(createOptions.GetProperty("HostConfig").GetProperty("Binds").EnumerateArray()).GetString()!;

        Assert.StartsWith("mcr.microsoft.com/iotedge/opc-publisher:2.9", Image(Modules.GetProperty(OpcPublisherModule)), StringComparison.Ordinal);
        Assert.Contains("--mm=PubSub", arguments);
        Assert.Contains("--me=Json", arguments);
        var publishedNodes = Assert.Single(arguments, a => a.StartsWith("--pf=", StringComparison.Ordinal))["--pf=".Length..];
        Assert.StartsWith(bind.Split(':')[1] + "/", publishedNodes, StringComparison.Ordinal);
    }

    [Fact]
    public void Module_json_names_repository_version_platforms_and_the_repository_root_as_context()
    {
        var module = Load("module.json");

        Assert.Equal("0.0.1", module.GetProperty("$schema-version").GetString());
        var image = module.GetProperty("image");
        Assert.EndsWith("/pdm-edge", image.GetProperty("repository").GetString(), StringComparison.Ordinal);
        Assert.Matches(@"^\d+\.\d+\.\d+$", image.GetProperty("tag").GetProperty("version").GetString());
        var platforms = image.GetProperty("tag").GetProperty("platforms").EnumerateObject().ToList();
        Assert.Contains(platforms, p => p.Name == "amd64");
        Assert.All(platforms, p => Assert.True(File.Exists(Path.Combine(ModuleFolder, p.Value.GetString()!)), $"platform {p.Name}: no {p.Value}"));
        var context = Path.GetFullPath(Path.Combine(ModuleFolder, image.GetProperty("contextPath").GetString()!));
        Assert.Equal(Path.TrimEndingDirectorySeparator(Path.GetFullPath(RepoPaths.Root)), Path.TrimEndingDirectorySeparator(context));
        Assert.Equal("csharp", module.GetProperty("language").GetString());
    }

    [Fact]
    public void Dockerfile_copies_only_paths_in_the_repository_root_context()
    {
        var sources = DockerfileLines()
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            .ToList();

        Assert.NotEmpty(sources);
        Assert.All(sources, source => Assert.True(
            File.Exists(Path.Combine(RepoPaths.Root, source)) || Directory.Exists(Path.Combine(RepoPaths.Root, source)),
            $"COPY {source}: not in the build context (the repository root)"));
        Assert.Contains("edge-module/", sources);
        Assert.Contains("src/", sources);
    }

    [Fact]
    public void Dockerfile_installs_the_native_libraries_and_runs_the_module_as_a_non_root_user()
    {
        var lines = DockerfileLines();
        var text = string.Join('\n', lines);

        Assert.Contains("libmodbus5", text, StringComparison.Ordinal);
        // MQTT is MQTTnet (managed), so the image no longer needs the libmosquitto binding.
        Assert.DoesNotContain("libmosquitto", text, StringComparison.Ordinal);
        Assert.Contains("FROM mcr.microsoft.com/dotnet/sdk:10.0", text, StringComparison.Ordinal);
        Assert.Contains("debian:bookworm", lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)), StringComparison.Ordinal);
        var user = lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();
        Assert.DoesNotContain(user.Split(':')[0], (string[])["root", "0"]);
        // Self-contained publish: the entry point is the apphost named after the module's assembly.
        var entryPoint = Assert.Single(lines, l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal));
        Assert.Contains($"\"./{AssemblyNameOfModule()}\"", entryPoint, StringComparison.Ordinal);
        Assert.Contains("--self-contained true", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Docker_ignore_file_keeps_build_output_out_of_the_context()
    {
        var patterns = File.ReadAllLines(Path.Combine(ModuleFolder, "Dockerfile.dockerignore"));

        Assert.Contains("**/bin", patterns);
        Assert.Contains("**/obj", patterns);
    }

    [Fact]
    public void Published_nodes_example_is_an_array_of_endpoints_with_nodes()
    {
        var entries = Load("published_nodes.example.json");

        Assert.Equal(JsonValueKind.Array, entries.ValueKind);
        Assert.NotEqual(0, entries.GetArrayLength());
        foreach (var entry in entries.EnumerateArray())
        {
            Assert.StartsWith("opc.tcp://", entry.GetProperty("EndpointUrl").GetString(), StringComparison.Ordinal);
            var nodes = entry.GetProperty("OpcNodes");
            Assert.Equal(JsonValueKind.Array, nodes.ValueKind);
            Assert.NotEqual(0, nodes.GetArrayLength());
            Assert.All(nodes.EnumerateArray().ToList(), node => Assert.False(string.IsNullOrWhiteSpace(node.GetProperty("Id").GetString())));
        }
    }

    [Fact]
    public void Every_published_writer_and_node_is_mapped_in_the_example_config()
    {
        var mappings = Manifest.GetProperty(OurModule).GetProperty("properties.desired").GetProperty("config")
            .GetProperty("opc").GetProperty("mappings").EnumerateArray()
            .ToDictionary(m => m.GetProperty("dataSetWriter").GetString()!,
                m => m.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()!).ToList());

        foreach (var entry in Load("published_nodes.example.json").EnumerateArray())
        {
            var writer = entry.GetProperty("DataSetWriterId").GetString()!;
            Assert.True(mappings.TryGetValue(writer, out var fields), $"writer '{writer}' has no opc mapping in the example config");
            Assert.All(entry.GetProperty("OpcNodes").EnumerateArray().ToList(),
                node => Assert.Contains(node.GetProperty("DisplayName").GetString()!, fields));
        }
    }

    private static string AssemblyNameOfModule()
    {
        var project = File.ReadAllText(Path.Combine(ModuleFolder, "Pdm.EdgeModule.csproj"));
        var match = Regex.Match(project, "<AssemblyName>([^<]+)</AssemblyName>");
        return match.Success ? match.Groups[1].Value : "Pdm.EdgeModule";
    }

    private static string Image(JsonElement module) => module.GetProperty("settings").GetProperty("image").GetString() ?? "";

    private static void CheckCreateOptions(JsonElement module, string name)
    {
        if (!module.GetProperty("settings").TryGetProperty("createOptions", out var options))
        {
            return;
        }
        switch (options.ValueKind)
        {
            case JsonValueKind.Object:
                break;
            case JsonValueKind.String:
                var text = options.GetString()!;
                if (text.Length > 0)
                {
                    using var parsed = JsonDocument.Parse(text);
                    Assert.Equal(JsonValueKind.Object, parsed.RootElement.ValueKind);
                }
                break;
            default:
                Assert.Fail($"{name}.settings.createOptions must be an object or a JSON string, not {options.ValueKind}");
                break;
        }
    }

    private static List<(string Name, string Route)> Routes() =>
        EdgeHub.GetProperty("routes").EnumerateObject()
            .Select(r => (r.Name, r.Value.ValueKind == JsonValueKind.Object ? r.Value.GetProperty("route").GetString()! : r.Value.GetString()!))
            .ToList();

    private static void CheckTwinKeys(JsonElement element, string path, int depth)
    {
        Assert.True(depth <= 10, $"{path} is nested deeper than the twin's limit of 10");
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Assert.True(property.Name.IndexOfAny(['.', '$', ' ']) < 0, $"{path}.{property.Name}: twin keys may not contain '.', '$' or spaces");
                    CheckTwinKeys(property.Value, $"{path}.{property.Name}", depth + 1);
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    CheckTwinKeys(item, $"{path}[{index++}]", depth + 1);
                }
                break;
        }
    }

    [GeneratedRegex(@"^FROM\s+(?<source>\S+)(\s+WHERE\s+.+?)?\s+INTO\s+(?<sink>.+)$")]
    private static partial Regex RouteSyntax();

    [GeneratedRegex(@"^/messages/modules/(?<module>[^/]+)/(\*|outputs/(\*|[^/]+))$")]
    private static partial Regex SourceModule();

    [GeneratedRegex(@"^BrokeredEndpoint\(""/modules/(?<module>[^/""]+)/inputs/[^/""]+""\)$")]
    private static partial Regex SinkModule();

    [GeneratedRegex(@"^\$\{MODULES\.(?<folder>[^.}]+)(\.[^}]+)?\}$")]
    private static partial Regex ModulesPlaceholder();
}
