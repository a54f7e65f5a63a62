using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pdm.Infra.Tests;

/// <summary>The function identity's role on the IoT hub covers every data action the API's IoT Hub calls need.</summary>
public sealed partial class IotHubRoleTests
{
    /// <summary>
    /// Data actions of the built-in IoT Hub roles, as Microsoft publishes them ("Azure built-in roles for Internet of
    /// Things"); docs/edge-deployment.md cites the page.
    /// </summary>
    private static readonly Dictionary<string, string[]> BuiltInDataActions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["4fc6c259-987e-4a07-842e-c321cc9d413f"] = ["Microsoft.Devices/IotHubs/*"], // IoT Hub Data Contributor
        ["4ea46cd5-c1b2-4a8e-910b-273211f9ce47"] = ["Microsoft.Devices/IotHubs/devices/*"], // IoT Hub Registry Contributor
        ["494bdba2-168f-4f31-a0a1-191d2f7c028c"] = ["Microsoft.Devices/IotHubs/twins/*"], // IoT Hub Twin Contributor
        ["b447c946-2db7-41ec-983d-d8bf3b1c77e3"] =
            ["Microsoft.Devices/IotHubs/*/read", "Microsoft.Devices/IotHubs/fileUpload/notifications/action"], // IoT Hub Data Reader
    };

    /// <summary>IotHubRegistryClient: GET, PUT and DELETE /devices/{id}, POST /devices/{id}/applyConfigurationContent.</summary>
    private static readonly string[] NeededByTheApi =
    [
        "Microsoft.Devices/IotHubs/devices/read",
        "Microsoft.Devices/IotHubs/devices/write",
        "Microsoft.Devices/IotHubs/devices/delete",
        "Microsoft.Devices/IotHubs/configurations/applyToEdgeDevice/action",
    ];

    [Fact]
    public void The_function_identity_may_create_edge_identities_and_apply_their_manifests()
    {
        var granted = GrantedOnTheHub(principal => principal.Contains("parameters('functionIdentityName')", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(granted);

        Problems.None(NeededByTheApi.Where(action => !granted.Any(pattern => Covers(pattern, action))),
            "is not granted to the function identity on the IoT hub");
    }

    [Fact]
    public void The_deployer_may_apply_a_manifest_without_the_api()
    {
        var granted = GrantedOnTheHub(principal => principal.Contains("parameters('deployerPrincipalId')", StringComparison.Ordinal)).ToList();

        Assert.Contains(granted, pattern => Covers(pattern, "Microsoft.Devices/IotHubs/configurations/applyToEdgeDevice/action"));
    }

    [Fact]
    public void The_check_tells_the_roles_apart()
    {
        // Registry Contributor alone is the mistake this test is for: it registers devices but cannot deploy to them.
        var registry = BuiltInDataActions["4ea46cd5-c1b2-4a8e-910b-273211f9ce47"];
        Assert.Contains(registry, p => Covers(p, "Microsoft.Devices/IotHubs/devices/write"));
        Assert.DoesNotContain(registry, p => Covers(p, "Microsoft.Devices/IotHubs/configurations/applyToEdgeDevice/action"));
        Assert.True(Covers("Microsoft.Devices/IotHubs/*/read", "Microsoft.Devices/IotHubs/devices/read"));
        Assert.False(Covers("Microsoft.Devices/IotHubs/*/read", "Microsoft.Devices/IotHubs/devices/write"));
    }

    private static IEnumerable<string> GrantedOnTheHub(Func<string, bool> isPrincipal)
    {
        foreach (var template in Bicep.Templates(Bicep.MainTemplate))
        {
            var roles = template["variables"]?["roles"]?.AsObject();
            foreach (var assignment in TopLevelResources(template).Where(r => Bicep.Type(r) == "Microsoft.Authorization/roleAssignments"))
            {
                var scope = assignment["scope"]?.GetValue<string>() ?? "";
                var properties = assignment["properties"]!;
                if (!scope.Contains("'Microsoft.Devices/IotHubs'", StringComparison.Ordinal) || !isPrincipal(properties["principalId"]!.GetValue<string>()))
                {
                    continue;
                }
                var roleDefinition = properties["roleDefinitionId"]!.GetValue<string>();
                var variable = RoleVariable().Match(roleDefinition);
                Assert.True(variable.Success && roles?[variable.Groups["name"].Value] is not null,
                    $"IoT hub role {roleDefinition} is not one of the roles variable's entries");
                var roleId = roles![variable.Groups["name"].Value]!.GetValue<string>();
                Assert.True(BuiltInDataActions.TryGetValue(roleId, out var actions), $"role {roleId} is not a known IoT Hub built-in role");
                foreach (var action in actions)
                {
                    yield return action;
                }
            }
        }
    }

    private static IEnumerable<JsonObject> TopLevelResources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject named => named.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    /// <summary>Azure RBAC wildcards: <c>*</c> matches any run of characters, segments included.</summary>
    private static bool Covers(string pattern, string action) =>
        Regex.IsMatch(action, "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.IgnoreCase);

    [GeneratedRegex(@"variables\('roles'\)\.(?<name>\w+)\)\]$")]
    private static partial Regex RoleVariable();
}
