using System.Text.Json.Nodes;

namespace Pdm.Infra.Tests;

/// <summary>The Bicep compiler's type checks and linter are the judge: every file, no diagnostic at all.</summary>
public sealed class BicepTests
{
    public static TheoryData<string> BicepFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Bicep.InfraDirectory, "*.bicep", SearchOption.AllDirectories).Order())
        {
            data.Add(Path.GetRelativePath(Bicep.InfraDirectory, file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public void Every_bicep_file_compiles_and_lints_without_a_diagnostic(string file)
    {
        var lint = Bicep.Run("lint", file);

        Assert.True(lint.ExitCode == 0 && lint.Diagnostics.Count == 0,
            $"bicep lint {file}: exit {lint.ExitCode}\n{string.Join('\n', lint.Diagnostics)}");
    }

    [Fact]
    public void Main_builds_to_an_arm_template_at_subscription_scope()
    {
        Assert.Contains("subscriptionDeploymentTemplate.json", Bicep.MainTemplate["$schema"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_linter_rule_in_bicepconfig_is_an_error()
    {
        var rules = JsonNode.Parse(File.ReadAllText(Path.Combine(Bicep.InfraDirectory, "bicepconfig.json")))!["analyzers"]!["core"]!["rules"]!.AsObject();

        Assert.NotEmpty(rules);
        Assert.All(rules, rule => Assert.Equal("error", rule.Value!["level"]!.GetValue<string>()));
    }

    [Fact]
    public void The_linter_configuration_fails_a_file_with_a_warning()
    {
        // The same bicepconfig.json beside a file with an unused parameter: by default only a warning.
        var folder = Directory.CreateTempSubdirectory("pdm-bicep-");
        try
        {
            File.Copy(Path.Combine(Bicep.InfraDirectory, "bicepconfig.json"), Path.Combine(folder.FullName, "bicepconfig.json"));
            var file = Path.Combine(folder.FullName, "unused.bicep");
            File.WriteAllText(file, "param unused string\n");

            var lint = Bicep.Run("lint", file);

            Assert.NotEqual(0, lint.ExitCode);
            Assert.Contains(lint.Diagnostics, d => d.Contains("Error no-unused-params", StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
