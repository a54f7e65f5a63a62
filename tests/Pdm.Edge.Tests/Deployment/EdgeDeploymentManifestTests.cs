using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.Edge.Deployment;

namespace Pdm.Edge.Tests.Deployment;

public sealed class EdgeDeploymentManifestTests
{
    private const string Image = "contoso.azurecr.io/pdm-edge:0.2.0";

    private const string Configuration = """
        {
          "$schema": "../docs/edge-configuration.schema.json",
          "schemaVersion": 1,
          "gatewayId": "gw-hall-3",
          "modbus": [
            {
              "name": "press-7-plc", "machineId": "EG_M007", "tcp": { "host": "192.168.10.21", "port": 502 }, "unitId": 1,
              "registers": [ { "sensor": "temperature", "table": "holding", "address": 0, "type": "float32" } ]
            }
          ]
        }
        """;

    [Fact]
    public void Renders_image_configuration_and_registry_into_the_template()
    {
        var render = EdgeDeploymentManifest.Default.Render(Request(registry: new("contoso.azurecr.io", "pull-token", "s3cret")));

        Assert.True(render.IsValid, string.Join("; ", render.Errors));
        var manifest = render.Manifest!;
        Assert.Null(manifest["$schema-template"]);
        var agent = manifest["modulesContent"]!["$edgeAgent"]!["properties.desired"]!;
        Assert.Equal(Image, agent["modules"]!["pdmEdge"]!["settings"]!["image"]!.GetValue<string>());
        var credentials = agent["runtime"]!["settings"]!["registryCredentials"]!["pdmRegistry"]!;
        Assert.Equal(("contoso.azurecr.io", "pull-token", "s3cret"),
            (credentials["address"]!.GetValue<string>(), credentials["username"]!.GetValue<string>(), credentials["password"]!.GetValue<string>()));
        var config = manifest["modulesContent"]!["pdmEdge"]!["properties.desired"]!["config"]!;
        Assert.Equal("gw-hall-3", config["gatewayId"]!.GetValue<string>());
        Assert.Equal("EG_M007", config["modbus"]![0]!["machineId"]!.GetValue<string>());
        Assert.Null(config["$schema"]);
        Assert.DoesNotContain("${", manifest.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_options_become_the_strings_edge_agent_reads()
    {
        var render = EdgeDeploymentManifest.Default.Render(Request());

        var agent = render.Manifest!["modulesContent"]!["$edgeAgent"]!["properties.desired"]!;
        var hubOptions = agent["systemModules"]!["edgeHub"]!["settings"]!["createOptions"]!.GetValue<string>();
        var parsed = JsonNode.Parse(hubOptions)!;
        Assert.Equal("8883", parsed["HostConfig"]!["PortBindings"]!["8883/tcp"]![0]!["HostPort"]!.GetValue<string>());
        Assert.IsType<string>(agent["modules"]!["opcPublisher"]!["settings"]!["createOptions"]!.GetValue<string>());
    }

    [Fact]
    public void Long_create_options_are_cut_into_numbered_parts_that_join_back()
    {
        var template = JsonNode.Parse(File.ReadAllText(TemplatePath()))!;
        var binds = new JsonArray([.. Enumerable.Range(0, 40).Select(i => JsonValue.Create($"/var/lib/pdm-edge/volume-{i}:/data/{i}"))]);
        template["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]!["pdmEdge"]!["settings"]!["createOptions"]!["HostConfig"]!["Binds"] = binds;

        var render = EdgeDeploymentManifest.FromTemplate(template.ToJsonString()).Render(Request());

        var settings = render.Manifest!["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]!["pdmEdge"]!["settings"]!.AsObject();
        var parts = new List<string> { settings["createOptions"]!.GetValue<string>() };
        for (var i = 1; settings[$"createOptions{i:00}"] is { } part; i++)
        {
            parts.Add(part.GetValue<string>());
        }
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(p.Length <= EdgeDeploymentManifest.CreateOptionsChunk));
        Assert.Equal(40, JsonNode.Parse(string.Concat(parts))!["HostConfig"]!["Binds"]!.AsArray().Count);
    }

    [Fact]
    public void A_public_image_drops_the_registry_credentials_placeholders()
    {
        var render = EdgeDeploymentManifest.Default.Render(Request());

        Assert.True(render.IsValid, string.Join("; ", render.Errors));
        Assert.Null(render.Manifest!["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["runtime"]!["settings"]!["registryCredentials"]);
    }

    [Fact]
    public void A_missing_gateway_id_is_filled_with_the_device_id()
    {
        var configuration = JsonNode.Parse(Configuration)!.AsObject();
        configuration.Remove("gatewayId");

        var render = EdgeDeploymentManifest.Default.Render(Request(configuration: configuration.ToJsonString()));

        Assert.Equal("gw-hall-3", render.Manifest!["modulesContent"]!["pdmEdge"]!["properties.desired"]!["config"]!["gatewayId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("contoso.azurecr.io/pdm-edge", "moduleImage", "tag or digest")]
    [InlineData("contoso.azurecr.io/pdm-edge:latest", "moduleImage", "not 'latest'")]
    [InlineData("Contoso.azurecr.io/PDM edge:1", "moduleImage", "not an image reference")]
    [InlineData("", "moduleImage", "required")]
    public void Bad_images_are_named_with_the_reason(string image, string field, string reason)
    {
        var render = EdgeDeploymentManifest.Default.Render(Request(image: image));

        Assert.False(render.IsValid);
        var error = Assert.Single(render.Errors);
        Assert.Equal(field, error.Path);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_with_a_digest_and_a_registry_port_is_accepted()
    {
        var digest = new string('a', 64);
        Assert.True(EdgeDeploymentManifest.Default.Render(Request(image: $"registry.local:5000/plant/pdm-edge@sha256:{digest}")).IsValid);
    }

    [Fact]
    public void Configuration_errors_come_from_the_schema_with_their_path()
    {
        var configuration = JsonNode.Parse(Configuration)!.AsObject();
        configuration["modbus"]![0]!["tcp"]!["port"] = 70000;
        configuration["gatewayId"] = "gw-other";

        var render = EdgeDeploymentManifest.Default.Render(Request(configuration: configuration.ToJsonString()));

        Assert.False(render.IsValid);
        Assert.Contains(render.Errors, e => e.Path == "configuration.gatewayId" && e.Reason.Contains("gw-hall-3", StringComparison.Ordinal));
        Assert.Contains(render.Errors, e => e.Path.StartsWith("configuration.modbus[0].tcp.port", StringComparison.Ordinal));
    }

    [Fact]
    public void A_configuration_that_is_not_an_object_is_refused()
    {
        var render = EdgeDeploymentManifest.Default.Render(Request(configuration: "[1]"));

        Assert.Equal("configuration", Assert.Single(render.Errors).Path);
    }

    [Fact]
    public void Bad_device_ids_and_registries_are_reported_together()
    {
        var render = EdgeDeploymentManifest.Default.Render(Request(deviceId: "gw hall", registry: new("https://contoso.azurecr.io/x", "", "")));

        Assert.Contains(render.Errors, e => e.Path == "deviceId");
        Assert.Contains(render.Errors, e => e.Path == "registry");
    }

    [Fact]
    public void An_unknown_placeholder_in_a_template_is_an_error_not_left_in_the_manifest()
    {
        var template = File.ReadAllText(TemplatePath()).Replace("mcr.microsoft.com/azureiotedge-hub:1.5", "${EDGE_HUB_IMAGE}", StringComparison.Ordinal);

        var render = EdgeDeploymentManifest.FromTemplate(template).Render(Request());

        var error = Assert.Single(render.Errors);
        Assert.Equal("template", error.Path);
        Assert.Contains("${EDGE_HUB_IMAGE}", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_template_is_the_one_in_edge_module()
    {
        var onDisk = JsonNode.Parse(File.ReadAllText(TemplatePath()))!;
        var embedded = EdgeDeploymentManifest.FromTemplate(onDisk.ToJsonString()).Render(Request()).Manifest!.ToJsonString();

        Assert.Equal(embedded, EdgeDeploymentManifest.Default.Render(Request()).Manifest!.ToJsonString());
    }

    private static EdgeDeploymentRequest Request(string deviceId = "gw-hall-3", string image = Image, string configuration = Configuration,
        ContainerRegistryCredentials? registry = null)
    {
        using var document = JsonDocument.Parse(configuration);
        return new EdgeDeploymentRequest(deviceId, image, document.RootElement.Clone(), registry);
    }

    private static string TemplatePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "edge-module", "deployment.template.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("edge-module/deployment.template.json not found above the test directory");
    }
}
