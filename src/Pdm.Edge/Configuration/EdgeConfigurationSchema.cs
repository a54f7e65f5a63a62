using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Json.Schema;
using Pdm.IotHub;
using Pdm.Telemetry;

namespace Pdm.Edge.Configuration;

/// <summary>A problem and the document node it belongs to (for ordering errors as the document reads).</summary>
internal readonly record struct LocatedError(string Anchor, ConfigurationError Error);

/// <summary>
/// docs/edge-configuration.schema.json, embedded in this assembly: the one list of what a configuration document may
/// contain. <see cref="Validate"/> evaluates a document with JsonSchema.Net and turns each failure (instance location
/// and keyword) into a parser error: the JSON path in the parser's notation and a reason a person can act on.
/// </summary>
internal static class EdgeConfigurationSchema
{
    public const string ResourceName = "Pdm.Edge.Configuration.edge-configuration.schema.json";

    private static readonly Lazy<(JsonSchema Schema, JsonDocument Document)> Loaded = new(Load);

    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List };

    /// <summary>The schema document itself (what an editor or a test reads).</summary>
    public static JsonElement Document => Loaded.Value.Document.RootElement;

    private static (JsonSchema, JsonDocument) Load()
    {
        using var stream = typeof(EdgeConfigurationSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is missing from the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        return (JsonSchema.FromText(text), JsonDocument.Parse(text));
    }

    public static List<LocatedError> Validate(JsonElement document)
    {
        var results = Loaded.Value.Schema.Evaluate(document, Options);
        var errors = new List<LocatedError>();
        if (results.IsValid)
        {
            return errors;
        }

        var details = results.Details ?? [];
        var validNodes = details.Where(d => d.IsValid).Select(d => (d.InstanceLocation.ToString(), d.EvaluationPath.ToString())).ToHashSet();
        var reportedAlternatives = new HashSet<(string, string)>();
        foreach (var detail in details)
        {
            if (detail.Errors is not { Count: > 0 } || detail.IsValid)
            {
                continue;
            }
            var evaluation = Segments(detail.EvaluationPath.ToString());
            // Failing an "if" only picks the branch; it is not a problem of the document.
            if (evaluation.Contains("if"))
            {
                continue;
            }
            var instance = Segments(detail.InstanceLocation.ToString());
            var (node, path) = Locate(document, instance);
            var schemaPointer = detail.SchemaLocation.Fragment.TrimStart('#');

            var anyOf = evaluation.LastIndexOf("anyOf");
            if (anyOf >= 0)
            {
                // Our anyOf branches are flat (a required list or a bound): the alternative failed only if every branch did.
                var owner = "/" + string.Join('/', evaluation.Take(anyOf).Select(Escape));
                var ownerKey = (detail.InstanceLocation.ToString(), owner);
                var branches = Resolve(schemaPointer[..schemaPointer.LastIndexOf("/anyOf/", StringComparison.Ordinal)]);
                var branchCount = branches.Node.TryGetProperty("anyOf", out var list) ? list.GetArrayLength() : 0;
                var anyBranchHolds = Enumerable.Range(0, branchCount)
                    .Any(i => validNodes.Contains((ownerKey.Item1, $"{owner}/anyOf/{i}")));
                if (!anyBranchHolds && reportedAlternatives.Add(ownerKey))
                {
                    errors.Add(new(path, new ConfigurationError(path, NoAlternative(branches.Pointer, node))));
                }
                continue;
            }

            foreach (var keyword in detail.Errors.Keys)
            {
                var parent = instance.Count > 0 ? Locate(document, instance[..^1]).Path : "";
                errors.AddRange(Explain(keyword, detail.Errors[keyword], node, instance, path, parent, evaluation, schemaPointer));
            }
        }
        return errors;
    }

    private static IEnumerable<LocatedError> Explain(string keyword, string libraryMessage, JsonElement node, List<string> instance,
        string path, string parent, List<string> evaluation, string schemaPointer)
    {
        var (subschema, pointer) = Resolve(schemaPointer);
        var property = instance.Count > 0 ? instance[^1] : "";
        switch (keyword)
        {
            case "" when evaluation.Count > 0 && evaluation[^1] == "additionalProperties":
                var owner = Resolve(schemaPointer[..schemaPointer.LastIndexOf("/additionalProperties", StringComparison.Ordinal)]).Node;
                yield return new(path, new ConfigurationError(path, UnknownProperty(property, owner)));
                yield break;
            case "" when evaluation.Count >= 4 && evaluation[^4] == "dependentSchemas" && evaluation[^2] == "properties":
                // { "dependentSchemas": { "tcp": { "properties": { "rtu": false } } } }: the two exclude each other.
                yield return new(parent, new ConfigurationError(parent, $"give either '{evaluation[^3]}' or '{property}', not both"));
                yield break;
            case "required":
                foreach (var name in Strings(subschema, "required").Where(name => !node.TryGetProperty(name, out _)))
                {
                    var at = Member(path, name);
                    yield return new(path, new ConfigurationError(at, "required property is missing"));
                }
                yield break;
            case "dependentRequired" when subschema.TryGetProperty("dependentRequired", out var dependencies):
                foreach (var dependency in dependencies.EnumerateObject().Where(d => node.TryGetProperty(d.Name, out _)))
                {
                    foreach (var needed in dependency.Value.EnumerateArray().Select(n => n.GetString()!).Where(n => !node.TryGetProperty(n, out _)))
                    {
                        yield return new(path, new ConfigurationError(Member(path, dependency.Name), $"a {dependency.Name} needs a {needed}"));
                    }
                }
                yield break;
            default:
                // A property name's failure (propertyNames) is located at the property: the name is what failed, not the value.
                var value = evaluation.Contains("propertyNames") ? JsonSerializer.SerializeToElement(property, NameContext.Default.String) : node;
                yield return new(path, new ConfigurationError(path, Reason(keyword, libraryMessage, value, property, subschema, pointer)));
                yield break;
        }
    }

    private static string Reason(string keyword, string libraryMessage, JsonElement node, string property, JsonElement subschema, string pointer)
    {
        var text = node.ValueKind == JsonValueKind.String ? node.GetString()! : node.GetRawText();
        switch (keyword, pointer)
        {
            case ("const", "/properties/schemaVersion"):
                return $"schema version {text} is not supported; this module reads version {EdgeConfiguration.CurrentSchemaVersion}";
            case ("pattern", "/properties/gatewayId"):
                return DeviceIds.IsValid(text, out var gatewayProblem) ? libraryMessage : gatewayProblem.Replace("device id", "gateway id", StringComparison.Ordinal);
            case ("pattern", "/$defs/machineId"):
                return MachineIds.IsValid(text, out var machineProblem) ? $"machine id '{text}' has a line break" : machineProblem;
            case ("pattern", "/$defs/sensorName"):
                return SensorNameProblem(text);
            case ("pattern", "/$defs/sourceName"):
                return SourceNameProblem(text);
            case ("pattern", "/$defs/httpSource/properties/url"):
                return $"'{text}' is not an absolute http:// or https:// URL";
            case ("pattern", "/$defs/httpSource/properties/headers/propertyNames"):
                return $"'{text}' is not a valid HTTP header name";
            case ("pattern", "/$defs/httpSource/properties/headers/additionalProperties"):
                return "a header value must not contain line breaks";
            case ("type", "/$defs/sensorMapping"):
                return $"expected a path string like \"$.temp\" or an object {{ \"path\", \"unit\", \"scale\", \"offset\" }}, got {Describe(node)}";
            case ("type", "/$defs/sensorMap"):
                return $"expected an object of sensor name -> path, got {Describe(node)}";
            case ("type", "/$defs/httpSource/properties/headers"):
                return $"expected an object of header name -> value, got {Describe(node)}";
            default:
                break;
        }
        return keyword switch
        {
            "type" => $"expected {Expected(subschema)}, got {Describe(node)}",
            "minimum" or "maximum" => $"{text} is outside {Bound(subschema, "minimum")}..{Bound(subschema, "maximum")}",
            "enum" => $"unknown {Words(property)} '{Shorten(text)}', expected one of {string.Join(", ", subschema.GetProperty("enum").EnumerateArray().Select(v => v.ToString()))}",
            "const" => $"must be {subschema.GetProperty("const").GetRawText()}",
            "minLength" when Bound(subschema, "minLength") == "1" => "must not be empty",
            "maxLength" => $"longer than {Bound(subschema, "maxLength")} characters",
            "minItems" or "minProperties" => property switch
            {
                "registers" => "no registers; map at least one register to a sensor",
                "subscriptions" => "no subscriptions; subscribe to at least one topic filter",
                "fields" => "no fields; map at least one field to a sensor",
                "sensors" => "no sensors; map at least one sensor to a path",
                _ => libraryMessage,
            },
            _ => libraryMessage,
        };
    }

    /// <summary>Every branch of an anyOf failed: say what the alternatives are.</summary>
    private static string NoAlternative(string pointer, JsonElement node) => pointer switch
    {
        "/$defs/modbusDevice" => "missing 'tcp' ({ host, port }) or 'rtu' ({ serialPort, baudRate, ... }): say how the device is reached",
        "/$defs/opcMapping" => "give at least one of dataSetWriter, dataSetName or endpointUrl to say which messages this mapping takes",
        "/$defs/scale" => "must not be 0",
        _ => $"{Describe(node)} matches none of the allowed forms",
    };

    public static string SensorNameProblem(string sensor) =>
        $"sensor name '{sensor}' is not lower snake case ([a-z][a-z0-9_], at most {SensorCatalog.MaxNameLength} characters)";

    public static string SourceNameProblem(string name) =>
        $"source name '{name}' must be 1-64 letters, digits, '_' or '-', starting with a letter or digit";

    private static string UnknownProperty(string name, JsonElement owner)
    {
        var known = owner.TryGetProperty("properties", out var properties)
            ? properties.EnumerateObject().Select(p => p.Name).ToList()
            : [];
        var closest = known
            .Select(k => (Name: k, Distance: EditDistance(name.ToUpperInvariant(), k.ToUpperInvariant())))
            .Where(k => k.Distance <= Math.Max(1, name.Length / 4))
            .OrderBy(k => k.Distance)
            .Select(k => k.Name)
            .FirstOrDefault();
        var hint = closest is null ? "" : $"; did you mean '{closest}'?";
        return $"unknown property '{name}'{hint} (expected one of: {string.Join(", ", known)})";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static string Expected(JsonElement subschema)
    {
        var type = subschema.GetProperty("type");
        return type.ValueKind == JsonValueKind.Array
            ? string.Join(" or ", type.EnumerateArray().Select(t => Article(t.GetString()!, subschema)))
            : Article(type.GetString()!, subschema);
    }

    private static string Article(string type, JsonElement subschema) => type switch
    {
        "integer" when subschema.TryGetProperty("minimum", out _) && subschema.TryGetProperty("maximum", out _) =>
            $"an integer {Bound(subschema, "minimum")}..{Bound(subschema, "maximum")}",
        "integer" => "an integer",
        "number" => "a finite number",
        "boolean" => "true or false",
        "object" or "array" => $"an {type}",
        _ => $"a {type}",
    };

    private static string Bound(JsonElement subschema, string keyword) =>
        subschema.TryGetProperty(keyword, out var value) ? value.GetRawText() : "";

    private static IEnumerable<string> Strings(JsonElement subschema, string keyword) =>
        subschema.TryGetProperty(keyword, out var list) ? list.EnumerateArray().Select(v => v.GetString()!) : [];

    /// <summary>"wordOrder" as "word order".</summary>
    private static string Words(string property)
    {
        var words = new StringBuilder();
        foreach (var c in property)
        {
            words.Append(char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : c.ToString());
        }
        return words.ToString();
    }

    /// <summary>
    /// The schema node a location names. JsonSchema.Net 8 puts the name of the definition or property into some
    /// locations (".../items/modbus", ".../then/modbusDevice/properties/unitId"); segments the schema does not have are skipped.
    /// </summary>
    private static (JsonElement Node, string Pointer) Resolve(string pointer)
    {
        var node = Document;
        var resolved = new StringBuilder();
        foreach (var segment in Segments(Uri.UnescapeDataString(pointer)))
        {
            JsonElement next;
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(segment, out var child))
            {
                next = child;
            }
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && index < node.GetArrayLength())
            {
                next = node[index];
            }
            else
            {
                continue;
            }
            node = next;
            resolved.Append('/').Append(Escape(segment));
        }
        return (node, resolved.ToString());
    }

    /// <summary>The instance node at a pointer, and its path in the parser's notation (<c>modbus[0].tcp.port</c>).</summary>
    private static (JsonElement Node, string Path) Locate(JsonElement document, List<string> segments)
    {
        var node = document;
        var path = "";
        foreach (var segment in segments)
        {
            if (node.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                node = node[index];
                path = $"{path}[{index}]";
            }
            else
            {
                node = node.ValueKind == JsonValueKind.Object && node.TryGetProperty(segment, out var child) ? child : default;
                path = Member(path, segment);
            }
        }
        return (node, path);
    }

    private static List<string> Segments(string pointer) =>
        pointer.Length == 0 ? [] : [.. pointer.TrimStart('/').Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];

    private static string Escape(string segment) =>
        segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    /// <summary>A member of <paramref name="parent"/> in the parser's path notation: <c>a.b</c>, or <c>a['odd name']</c>.</summary>
    public static string Member(string parent, string name)
    {
        var simple = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        if (!simple)
        {
            return $"{parent}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";
        }
        return parent.Length == 0 ? name : $"{parent}.{name}";
    }

    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Shorten(element.GetString()!)}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "...");
}

[JsonSerializable(typeof(string))]
internal sealed partial class NameContext : JsonSerializerContext;
