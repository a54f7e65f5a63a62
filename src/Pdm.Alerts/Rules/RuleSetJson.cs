using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Pdm.Alerts.Rules;

/// <summary>The outcome of reading a rule set: the rule set, or every problem found (never both).</summary>
public sealed record RuleSetParseResult(RuleSet? RuleSet, IReadOnlyList<RuleError> Errors)
{
    public bool IsValid => RuleSet is not null;
}

/// <summary>
/// Rule sets as JSON (the API's request and response body). Reading checks the document against the rule types
/// themselves (the source-generated metadata): unknown fields and kinds are named, wrong types and missing fields
/// reported at their JSON path; then each rule's values are checked (<see cref="RuleValidator"/>).
/// </summary>
public static class RuleSetJson
{
    public static string Serialize(RuleSet ruleSet) => JsonSerializer.Serialize(ruleSet, AlertsJson.Default.RuleSet);

    public static RuleSetParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? root;
        try
        {
            // A repeated member is refused here: JsonObject would otherwise throw on first access, outside this catch.
            root = JsonNode.Parse(json, null, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            return new RuleSetParseResult(null, [new RuleError(e.Path ?? "", $"not valid JSON: {FirstSentence(e.Message)}")]);
        }
        return Parse(root);
    }

    public static RuleSetParseResult Parse(JsonNode? root)
    {
        var errors = new List<RuleError>();
        if (root is not JsonObject)
        {
            return new RuleSetParseResult(null, [new RuleError("", "must be a JSON object with version, rules and overrides")]);
        }
        CheckShape(root, AlertsJson.Default.RuleSet, "", errors);
        if (errors.Count > 0)
        {
            return new RuleSetParseResult(null, errors);
        }
        var ruleSet = root.Deserialize(AlertsJson.Default.RuleSet)!;
        errors.AddRange(RuleValidator.Validate(ruleSet));
        return errors.Count > 0 ? new RuleSetParseResult(null, errors) : new RuleSetParseResult(ruleSet, []);
    }

    /// <summary>The rule with a JSON merge patch applied, or null with the problems (paths relative to the patch).</summary>
    public static AlertRule? Patch(AlertRule rule, JsonObject patch, out IReadOnlyList<RuleError> errors)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(patch);
        var list = new List<RuleError>();
        errors = list;
        foreach (var name in new[] { "id", "kind" })
        {
            if (patch.ContainsKey(name))
            {
                list.Add(new RuleError(name, "an override cannot change a rule's " + name));
            }
        }
        if (list.Count > 0)
        {
            return null;
        }
        var node = JsonSerializer.SerializeToNode(rule, AlertsJson.Default.AlertRule)!.AsObject();
        MergePatch(node, patch);
        CheckShape(node, AlertsJson.Default.AlertRule, "", list);
        if (list.Count > 0)
        {
            return null;
        }
        var patched = node.Deserialize(AlertsJson.Default.AlertRule)!;
        list.AddRange(RuleValidator.ValidateRule(patched, ""));
        return list.Count > 0 ? null : patched;
    }

    /// <summary>RFC 7396: null removes a member, an object merges into an object, anything else replaces.</summary>
    internal static void MergePatch(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject child && target[name] is JsonObject existing)
            {
                MergePatch(existing, child);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }

    /// <summary>Checks a JSON value against the type it must deserialize to, collecting every problem.</summary>
    private static void CheckShape(JsonNode? node, JsonTypeInfo type, string path, List<RuleError> errors)
    {
        if (type.Type == typeof(JsonObject))
        {
            if (node is not JsonObject)
            {
                errors.Add(new RuleError(path, "must be an object"));
            }
            return;
        }
        switch (type.Kind)
        {
            case JsonTypeInfoKind.Object:
                CheckObject(node, type, path, errors);
                return;
            case JsonTypeInfoKind.Enumerable:
                if (node is not JsonArray array)
                {
                    errors.Add(new RuleError(path, "must be an array"));
                    return;
                }
                var element = type.Options.GetTypeInfo(type.ElementType!);
                for (var i = 0; i < array.Count; i++)
                {
                    CheckShape(array[i], element, $"{path}[{i}]", errors);
                }
                return;
            default:
                CheckValue(node, type, path, errors);
                return;
        }
    }

    private static void CheckObject(JsonNode? node, JsonTypeInfo type, string path, List<RuleError> errors)
    {
        if (node is not JsonObject obj)
        {
            errors.Add(new RuleError(path, "must be an object"));
            return;
        }
        if (type.PolymorphismOptions is { } polymorphism)
        {
            var discriminator = polymorphism.TypeDiscriminatorPropertyName;
            var known = polymorphism.DerivedTypes.Select(d => (string)d.TypeDiscriminator!).ToList();
            var kindPath = Join(path, discriminator);
            if (obj[discriminator] is not JsonValue kindValue || !kindValue.TryGetValue<string>(out var kind))
            {
                errors.Add(new RuleError(kindPath, $"required: one of {string.Join(", ", known)}"));
                return;
            }
            var derived = polymorphism.DerivedTypes.FirstOrDefault(d => (string)d.TypeDiscriminator! == kind);
            if (derived.DerivedType is null)
            {
                errors.Add(new RuleError(kindPath, $"unknown rule kind '{kind}'; known kinds: {string.Join(", ", known)}"));
                return;
            }
            CheckMembers(obj, type.Options.GetTypeInfo(derived.DerivedType), path, errors, discriminator);
            return;
        }
        CheckMembers(obj, type, path, errors, null);
    }

    private static void CheckMembers(JsonObject obj, JsonTypeInfo type, string path, List<RuleError> errors, string? discriminator)
    {
        var properties = type.Properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var (name, value) in obj)
        {
            if (name == discriminator)
            {
                continue;
            }
            if (!properties.TryGetValue(name, out var property))
            {
                var known = string.Join(", ", type.Properties.Select(p => p.Name));
                errors.Add(new RuleError(Join(path, name), $"unknown field; known fields here: {known}"));
                continue;
            }
            if (value is null)
            {
                if (property.IsRequired || !property.IsSetNullable)
                {
                    errors.Add(new RuleError(Join(path, name), "must not be null"));
                }
                continue;
            }
            CheckShape(value, type.Options.GetTypeInfo(property.PropertyType), Join(path, name), errors);
        }
        foreach (var property in type.Properties.Where(p => p.IsRequired && !obj.ContainsKey(p.Name)))
        {
            errors.Add(new RuleError(Join(path, property.Name), "required"));
        }
    }

    private static void CheckValue(JsonNode? node, JsonTypeInfo type, string path, List<RuleError> errors)
    {
        var target = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        var expected = target == typeof(string) ? "a string"
            : target == typeof(int) ? "a whole number"
            : target == typeof(double) ? "a number"
            : target == typeof(bool) ? "true or false"
            : target == typeof(AlertSeverity) ? "one of LOW, MEDIUM, HIGH, CRITICAL"
            : target.Name;
        if (node is not JsonValue value)
        {
            errors.Add(new RuleError(path, $"must be {expected}"));
            return;
        }
        // Enums must be their names, not numbers (a number would be read silently).
        var kind = value.GetValueKind();
        if (target.IsEnum && kind != JsonValueKind.String)
        {
            errors.Add(new RuleError(path, $"must be {expected}"));
            return;
        }
        try
        {
            value.Deserialize(type);
        }
        catch (JsonException)
        {
            errors.Add(new RuleError(path, $"must be {expected}"));
        }
        catch (InvalidOperationException)
        {
            errors.Add(new RuleError(path, $"must be {expected}"));
        }
    }

    internal static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string FirstSentence(string message) => message.Split(". ", 2)[0].TrimEnd('.');
}
