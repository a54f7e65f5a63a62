extern alias functions;

using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pdm.Testing;

namespace Pdm.Infra.Tests;

/// <param name="Name">The app setting (environment variable) name, <c>Pdm__Ingest__MaxBodyBytes</c>.</param>
/// <param name="HasDefault">The code works without it (a non-empty default value).</param>
/// <param name="Connection">A binding's <c>connection</c>: set as NAME or in the identity form NAME__*.</param>
/// <param name="Source">Where it was found, for messages.</param>
internal sealed record HandlerSetting(string Name, bool HasDefault, bool Connection, string Source);

/// <summary>
/// The settings the handler reads, collected from the code: every options class (a class with a <c>Section</c>
/// constant, bound from configuration) in the handler and the Pdm libraries it references, the <c>%NAME%</c>
/// expressions and <c>connection</c> names of the function.json files, and the keys the functions read directly
/// (<c>configuration["NAME"]</c>).
/// </summary>
internal static partial class HandlerSettings
{
    public static IReadOnlyList<HandlerSetting> All { get; } = [.. FromOptions(), .. FromFunctionJson(), .. FromDirectReads()];

    private static IEnumerable<HandlerSetting> FromOptions()
    {
        foreach (var type in HandlerAssemblies().SelectMany(a => a.GetTypes()).Where(t => !IsEdgeModuleSetting(t)))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is not { IsLiteral: true } field
                || field.GetRawConstantValue() is not string section || type.GetConstructor(Type.EmptyTypes) is null)
            {
                continue;
            }
            var defaults = Activator.CreateInstance(type);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.SetMethod is not { IsPublic: true } || !IsBindable(property.PropertyType))
                {
                    continue;
                }
                var value = property.GetValue(defaults);
                var hasDefault = value is not null && value is not "";
                yield return new HandlerSetting($"{section.Replace(":", "__", StringComparison.Ordinal)}__{property.Name}", hasDefault,
                    Connection: false, $"{type.Name}.{property.Name}");
            }
        }
    }

    private static IEnumerable<HandlerSetting> FromFunctionJson()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "functions"), "function.json", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                                 && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var function = Path.GetFileName(Path.GetDirectoryName(file))!;
            foreach (var binding in JsonNode.Parse(File.ReadAllText(file))!["bindings"]!.AsArray())
            {
                foreach (var (key, value) in binding!.AsObject())
                {
                    if (value is JsonValue text && text.TryGetValue<string>(out var s))
                    {
                        if (key == "connection")
                        {
                            yield return new HandlerSetting(s, HasDefault: false, Connection: true, $"{function}/function.json connection");
                        }
                        foreach (Match match in AppSettingExpression().Matches(s))
                        {
                            yield return new HandlerSetting(match.Groups[1].Value, HasDefault: false, Connection: false, $"{function}/function.json {key}");
                        }
                    }
                }
            }
        }
    }

    private static IEnumerable<HandlerSetting> FromDirectReads()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "functions"), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match match in DirectRead().Matches(File.ReadAllText(file)))
            {
                yield return new HandlerSetting(match.Groups[1].Value.Replace(":", "__", StringComparison.Ordinal), HasDefault: false,
                    Connection: false, Path.GetRelativePath(RepoPaths.Root, file));
            }
        }
    }

    /// <summary>
    /// The handler references the edge module's library only to render and check a gateway's deployment
    /// (<c>Pdm.Edge.Deployment</c>); the module's own settings (Edge, Queue, Cloud) are the gateway's, set by its
    /// deployment manifest, not app settings.
    /// </summary>
    private static bool IsEdgeModuleSetting(Type type) =>
        type.Assembly.GetName().Name == "Pdm.Edge" && type.Namespace?.StartsWith("Pdm.Edge.Deployment", StringComparison.Ordinal) != true;

    /// <summary>The handler and the Pdm libraries it references, directly or not.</summary>
    private static Dictionary<string, Assembly>.ValueCollection HandlerAssemblies()
    {
        var seen = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(functions::Pdm.Functions.PdmOptions).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            if (!seen.TryAdd(assembly.GetName().Name!, assembly))
            {
                continue;
            }
            foreach (var reference in assembly.GetReferencedAssemblies().Where(r => r.Name!.StartsWith("Pdm.", StringComparison.Ordinal)))
            {
                pending.Push(Assembly.Load(reference));
            }
        }
        return seen.Values;
    }

    private static bool IsBindable(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(Uri) || type == typeof(DateTimeOffset) || type == typeof(Guid);
    }

    [GeneratedRegex("%([A-Za-z0-9_]+)%")]
    private static partial Regex AppSettingExpression();

    [GeneratedRegex("""configuration\["([A-Za-z0-9_:]+)"\]""", RegexOptions.IgnoreCase)]
    private static partial Regex DirectRead();
}
