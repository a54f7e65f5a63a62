using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pdm.Edge.Configuration;
using Pdm.IotHub;

namespace Pdm.Edge.Deployment;

/// <summary>Credentials edgeAgent pulls the module image with (a registry token or service principal; never an admin user).</summary>
public sealed record ContainerRegistryCredentials(string Address, string Username, string Password);

/// <summary>What one gateway's deployment is made of.</summary>
/// <param name="DeviceId">The gateway's IoT Edge device id; the configuration's <c>gatewayId</c> must be the same (or absent: then it is filled in).</param>
/// <param name="ModuleImage">The pdmEdge image with an explicit tag or digest, e.g. <c>contoso.azurecr.io/pdm-edge:0.1.0</c>.</param>
/// <param name="Configuration">The gateway's configuration document (docs/edge-configuration.md).</param>
/// <param name="Registry">Credentials for a private registry; null for a public image (the template's credentials are removed).</param>
public sealed record EdgeDeploymentRequest(string DeviceId, string ModuleImage, JsonElement Configuration, ContainerRegistryCredentials? Registry = null);

/// <summary>The rendered manifest (<c>{"modulesContent": …}</c>, the body of applyConfigurationContent), or why there is none.</summary>
public sealed class EdgeDeploymentRender
{
    internal EdgeDeploymentRender(JsonObject? manifest, IReadOnlyList<ConfigurationError> errors)
    {
        Manifest = manifest;
        Errors = errors;
    }

    public JsonObject? Manifest { get; }

    /// <summary>Each problem with the field it concerns: <c>deviceId</c>, <c>moduleImage</c>, <c>registry</c> or <c>configuration…</c>.</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }

    public bool IsValid => Manifest is not null;

    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(Manifest ?? throw new InvalidOperationException(
        $"The manifest was not rendered: {string.Join("; ", Errors)}"), EdgeDeploymentManifest.Indented);
}

/// <summary>
/// edge-module/deployment.template.json made concrete for one gateway: the module image and the registry filled in
/// for their placeholders, the gateway's configuration (validated against docs/edge-configuration.schema.json and the
/// parser's own checks) as pdmEdge's <c>config</c> desired property, and every object <c>createOptions</c> turned into
/// the string edgeAgent reads, as the IoT Edge tooling does when it generates a manifest.
/// </summary>
public sealed partial class EdgeDeploymentManifest
{
    /// <summary>The module the gateway's configuration belongs to (its twin's <c>config</c> desired property).</summary>
    public const string ModuleName = "pdmEdge";

    public const string ResourceName = "Pdm.Edge.Deployment.deployment.template.json";

    /// <summary>The tooling cuts a longer createOptions string into createOptions01…07 of this size; edgeAgent joins them.</summary>
    public const int CreateOptionsChunk = 512;

    /// <summary>createOptions plus createOptions01…07: what edgeAgent reads back.</summary>
    public const int MaxCreateOptionsChunks = 8;

    /// <summary>IoT Hub's limit on a module twin's desired properties.</summary>
    public const int MaxDesiredPropertiesBytes = 32 * 1024;

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly JsonObject _template;

    private EdgeDeploymentManifest(JsonObject template) => _template = template;

    /// <summary>The template shipped in edge-module/ (embedded in this assembly).</summary>
    public static EdgeDeploymentManifest Default { get; } = LoadDefault();

    public static EdgeDeploymentManifest FromTemplate(string json)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(json);
        var node = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("The deployment template is not a JSON object.");
        if (node["modulesContent"]?[ModuleName] is not JsonObject || Agent(node)?["modules"]?[ModuleName] is not JsonObject)
        {
            throw new FormatException($"The deployment template has no module '{ModuleName}' in modulesContent and $edgeAgent's modules.");
        }
        return new EdgeDeploymentManifest(node);
    }

    public EdgeDeploymentRender Render(EdgeDeploymentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<ConfigurationError>();
        if (!DeviceIds.IsValid(request.DeviceId, out var deviceProblem))
        {
            errors.Add(new("deviceId", deviceProblem));
        }
        if (CheckImage(request.ModuleImage) is { } imageProblem)
        {
            errors.Add(new("moduleImage", imageProblem));
        }
        if (request.Registry is { } registry && CheckRegistry(registry) is { } registryProblem)
        {
            errors.Add(new("registry", registryProblem));
        }
        var configuration = CheckConfiguration(request, errors);
        if (errors.Count > 0 || configuration is null)
        {
            return new EdgeDeploymentRender(null, errors);
        }

        var root = (JsonObject)_template.DeepClone();
        root.Remove("$schema-template");
        var modules = (JsonObject)root["modulesContent"]!;
        var agent = Agent(root)!;
        var settings = agent["runtime"]?["settings"] as JsonObject;
        if (request.Registry is null)
        {
            settings?.Remove("registryCredentials");
        }
        ((JsonObject)modules[ModuleName]!)["properties.desired"] = new JsonObject { ["config"] = configuration };

        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["MODULES.edge-module"] = request.ModuleImage,
            ["CONTAINER_REGISTRY_ADDRESS"] = request.Registry?.Address ?? "",
            ["CONTAINER_REGISTRY_USERNAME"] = request.Registry?.Username ?? "",
            ["CONTAINER_REGISTRY_PASSWORD"] = request.Registry?.Password ?? "",
        };
        // Placeholders are filled only in the template's own text, not in the gateway's configuration.
        Fill(agent, values, "modulesContent.$edgeAgent", errors);
        Fill(modules["$edgeHub"], values, "modulesContent.$edgeHub", errors);
        foreach (var module in new[] { agent["systemModules"], agent["modules"] })
        {
            foreach (var (name, definition) in module as JsonObject ?? [])
            {
                StringifyCreateOptions(definition?["settings"] as JsonObject, name, errors);
            }
        }
        var desiredBytes = Encoding.UTF8.GetByteCount(modules[ModuleName]!.ToJsonString());
        if (desiredBytes > MaxDesiredPropertiesBytes)
        {
            errors.Add(new("configuration",
                $"the configuration takes {desiredBytes} bytes as pdmEdge's desired properties; IoT Hub allows {MaxDesiredPropertiesBytes}"));
        }
        return errors.Count > 0 ? new EdgeDeploymentRender(null, errors) : new EdgeDeploymentRender(root, []);
    }

    /// <summary>A repository with a tag or a digest: the runtime does not pull again for a tag it already has, so "latest" never upgrades a fleet.</summary>
    private static string? CheckImage(string? image)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            return "the module image is required, e.g. contoso.azurecr.io/pdm-edge:0.1.0";
        }
        if (!ImageReference().IsMatch(image))
        {
            return $"'{image}' is not an image reference with a tag or digest (registry/repository:tag or @sha256:…)";
        }
        return image.EndsWith(":latest", StringComparison.Ordinal)
            ? "use a version tag, not 'latest': IoT Edge does not pull an image again for a tag it already has"
            : null;
    }

    private static string? CheckRegistry(ContainerRegistryCredentials registry)
    {
        if (string.IsNullOrWhiteSpace(registry.Address) || registry.Address.Contains('/', StringComparison.Ordinal))
        {
            return "the registry address is a host name such as contoso.azurecr.io";
        }
        return string.IsNullOrEmpty(registry.Username) || string.IsNullOrEmpty(registry.Password)
            ? "a private registry needs a username and a password (token)"
            : null;
    }

    private static JsonObject? CheckConfiguration(EdgeDeploymentRequest request, List<ConfigurationError> errors)
    {
        if (request.Configuration.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("configuration", "the gateway's configuration must be a JSON object (docs/edge-configuration.md)"));
            return null;
        }
        var node = JsonObject.Create(request.Configuration)!.DeepClone().AsObject();
        // The schema link is for editors; twin documents carry no "$" names.
        node.Remove("$schema");
        if (node["gatewayId"] is null)
        {
            node["gatewayId"] = request.DeviceId;
        }
        else if (node["gatewayId"] is JsonValue value && value.TryGetValue<string>(out var gatewayId) && gatewayId != request.DeviceId)
        {
            errors.Add(new("configuration.gatewayId", $"'{gatewayId}' is not the device the deployment is for ('{request.DeviceId}')"));
        }
        using var document = JsonDocument.Parse(node.ToJsonString());
        var parsed = EdgeConfigurationParser.Parse(document.RootElement);
        errors.AddRange(parsed.Errors.Select(e => new ConfigurationError(e.Path.Length == 0 ? "configuration" : $"configuration.{e.Path}", e.Reason)));
        return node;
    }

    /// <summary>Replaces <c>${NAME}</c> in every string value; a placeholder without a value is an error.</summary>
    private static void Fill(JsonNode? node, IReadOnlyDictionary<string, string> values, string path, List<ConfigurationError> errors)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        obj[name] = Substitute(text, values, $"{path}.{name}", errors);
                    }
                    else
                    {
                        Fill(child, values, $"{path}.{name}", errors);
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        array[i] = Substitute(text, values, $"{path}[{i}]", errors);
                    }
                    else
                    {
                        Fill(array[i], values, $"{path}[{i}]", errors);
                    }
                }
                break;
        }
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> values, string path, List<ConfigurationError> errors) =>
        Placeholder().Replace(text, match =>
        {
            if (values.TryGetValue(match.Groups[1].Value, out var value))
            {
                return value;
            }
            errors.Add(new("template", $"{path}: no value for the placeholder {match.Value}"));
            return match.Value;
        });

    private static void StringifyCreateOptions(JsonObject? settings, string module, List<ConfigurationError> errors)
    {
        if (settings?["createOptions"] is not JsonObject options)
        {
            return;
        }
        var text = options.ToJsonString();
        var chunks = (text.Length + CreateOptionsChunk - 1) / CreateOptionsChunk;
        if (chunks > MaxCreateOptionsChunks)
        {
            errors.Add(new("template", $"{module}: createOptions take {text.Length} characters; edgeAgent reads at most {CreateOptionsChunk * MaxCreateOptionsChunks}"));
            return;
        }
        settings["createOptions"] = text[..Math.Min(text.Length, CreateOptionsChunk)];
        for (var i = 1; i < chunks; i++)
        {
            var start = i * CreateOptionsChunk;
            settings[$"createOptions{i:00}"] = text[start..Math.Min(text.Length, start + CreateOptionsChunk)];
        }
    }

    private static JsonObject? Agent(JsonNode root) => root["modulesContent"]?["$edgeAgent"]?["properties.desired"] as JsonObject;

    private static EdgeDeploymentManifest LoadDefault()
    {
        using var stream = typeof(EdgeDeploymentManifest).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is missing from the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return FromTemplate(reader.ReadToEnd());
    }

    [GeneratedRegex(@"\$\{([A-Za-z0-9_.\-]+)\}")]
    private static partial Regex Placeholder();

    // [registry[:port]/]path[:tag][@sha256:digest], with at least a tag or a digest.
    [GeneratedRegex(@"^(?:[a-z0-9.\-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._\-/][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}(?:@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$")]
    private static partial Regex ImageReference();
}
