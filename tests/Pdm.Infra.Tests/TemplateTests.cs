using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pdm.Infra.Tests;

/// <summary>main.parameters.json against main.bicep; outputs without secrets; role assignment names that do not change.</summary>
public sealed partial class TemplateTests
{
    [Fact]
    public void Parameters_file_names_only_parameters_of_main_and_every_required_one()
    {
        var declared = Bicep.MainTemplate["parameters"]!.AsObject();
        var given = JsonNode.Parse(File.ReadAllText(Path.Combine(Bicep.InfraDirectory, "main.parameters.json")))!["parameters"]!.AsObject()
            .Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var required = declared.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key);

        Problems.None(given.Where(name => !declared.ContainsKey(name)), "in main.parameters.json but not a parameter of main.bicep");
        Problems.None(required.Where(name => !given.Contains(name)), "required by main.bicep but not in main.parameters.json");
    }

    [Fact]
    public void No_output_is_a_secret()
    {
        var problems = new List<string>();
        foreach (var template in Bicep.Templates(Bicep.MainTemplate))
        {
            var secureParameters = (template["parameters"]?.AsObject() ?? [])
                .Where(p => p.Value!["type"]!.GetValue<string>().StartsWith("secure", StringComparison.OrdinalIgnoreCase))
                .Select(p => p.Key).ToList();
            foreach (var (name, output) in template["outputs"]?.AsObject() ?? [])
            {
                var type = output!["type"]!.GetValue<string>();
                var value = output["value"]?.ToJsonString() ?? "";
                if (type.StartsWith("secure", StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"{name}: type {type}");
                }
                if (SecretName().IsMatch(name))
                {
                    problems.Add($"{name}: the name says it holds a secret");
                }
                if (SecretExpression().Match(value) is { Success: true } match)
                {
                    problems.Add($"{name}: its value uses {match.Value}");
                }
                problems.AddRange(secureParameters.Where(p => value.Contains($"parameters('{p}')", StringComparison.Ordinal))
                    .Select(p => $"{name}: its value uses the secure parameter {p}"));
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void The_secret_check_recognises_keys_and_connection_strings()
    {
        Assert.Matches(SecretExpression(), "[listKeys(resourceId('Microsoft.Devices/IotHubs', 'x'), '2023-06-30').value[0].primaryKey]");
        Assert.Matches(SecretExpression(), "[reference('appi').ConnectionString]");
        Assert.Matches(SecretName(), "STORAGE_CONNECTION_STRING");
        Assert.DoesNotMatch(SecretName(), "KEY_VAULT_NAME");
    }

    [Fact]
    public void Role_assignment_names_are_guids_of_scope_principal_and_role()
    {
        var assignments = Bicep.Resources(Bicep.MainTemplate).Where(r => Bicep.Type(r) == "Microsoft.Authorization/roleAssignments").ToList();
        Assert.NotEmpty(assignments);
        foreach (var assignment in assignments)
        {
            var name = assignment["name"]!.GetValue<string>();
            Assert.StartsWith("[guid(", name, StringComparison.Ordinal);
            Assert.DoesNotMatch(NonDeterministic(), name);
            // The role is part of the name, so two roles of one principal on one scope get two names.
            var roleDefinition = assignment["properties"]!["roleDefinitionId"]!.GetValue<string>();
            var role = RoleArgument().Match(roleDefinition);
            Assert.True(role.Success, $"roleDefinitionId {roleDefinition} is not subscriptionResourceId(roleDefinitions, role)");
            Assert.Contains(role.Groups["role"].Value, name, StringComparison.Ordinal);
            Assert.Contains("principalId", assignment["properties"]!.AsObject().Select(p => p.Key));
        }
        foreach (var template in Bicep.Templates(Bicep.MainTemplate))
        {
            Assert.All(template["parameters"]?.AsObject() ?? [],
                p => Assert.DoesNotMatch(NonDeterministic(), p.Value!["defaultValue"]?.ToJsonString() ?? ""));
        }
    }

    [GeneratedRegex("password|connectionstring|connection_string|accesskey|access_key|sharedaccess|sas_?token", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"\blist\w*\(|ConnectionString|primaryKey|secondaryKey|secretValue", RegexOptions.IgnoreCase)]
    private static partial Regex SecretExpression();

    [GeneratedRegex(@"newGuid\(|utcNow\(", RegexOptions.IgnoreCase)]
    private static partial Regex NonDeterministic();

    [GeneratedRegex(@"roleDefinitions', (?<role>.+)\)\]$")]
    private static partial Regex RoleArgument();
}
