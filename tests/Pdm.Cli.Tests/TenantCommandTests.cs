using System.Text.Json;
using Pdm.Storage;

namespace Pdm.Cli.Tests;

/// <summary>`pdm tenant create` against a migrated database on the local PostgreSQL, as azd's postprovision hook runs it.</summary>
public sealed class TenantCommandTests(RegistryStackFixture stack) : IClassFixture<RegistryStackFixture>
{
    [Fact]
    public async Task Creates_the_tenant_and_a_tenant_admin_key_that_authenticates()
    {
        var name = $"plant-{Guid.NewGuid():N}"[..20];

        var result = await CliRunner.RunAsync("tenant", "create", "--name", name, "--connection", stack.OwnerConnectionString, "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var created = json.RootElement;
        Assert.True(created.GetProperty("created").GetBoolean());
        Assert.Equal(name, created.GetProperty("tenant_name").GetString());
        var principal = await stack.OwnerDatabase.ApiKeys.AuthenticateApiKeyAsync(created.GetProperty("key").GetString()!, CancellationToken.None);
        Assert.NotNull(principal);
        Assert.Equal(created.GetProperty("tenant_id").GetGuid(), principal.TenantId);
        Assert.Equal(ApiKeyRole.Admin, principal.Role);
    }

    [Fact]
    public async Task Run_again_it_finds_the_tenant_and_issues_another_key()
    {
        var name = $"plant-{Guid.NewGuid():N}"[..20];
        var first = await CliRunner.RunAsync("tenant", "create", "--name", name, "--connection", stack.OwnerConnectionString, "--json");

        var second = await CliRunner.RunAsync("tenant", "create", "--name", name, "--connection", stack.OwnerConnectionString, "--json");

        Assert.True(second.ExitCode == 0, second.Error);
        using var one = JsonDocument.Parse(first.Output);
        using var two = JsonDocument.Parse(second.Output);
        Assert.False(two.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal(one.RootElement.GetProperty("tenant_id").GetGuid(), two.RootElement.GetProperty("tenant_id").GetGuid());
        Assert.NotEqual(one.RootElement.GetProperty("key").GetString(), two.RootElement.GetProperty("key").GetString());
        Assert.Single(await stack.OwnerDatabase.Tenants.ListTenantsAsync(CancellationToken.None), t => t.Name == name);
    }

    [Fact]
    public async Task A_name_too_long_is_refused_naming_the_option()
    {
        var result = await CliRunner.RunAsync("tenant", "create", "--name", new string('x', 101), "--connection", stack.OwnerConnectionString);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--name", result.Error, StringComparison.Ordinal);
    }
}
