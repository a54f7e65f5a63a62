using System.CommandLine;
using System.Text.Json;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>
/// `pdm tenant create`: the first tenant of a new deployment and a admin key for it, straight in the database
/// (azd's postprovision hook runs it before anyone holds an API key). Running it again finds the tenant by name and
/// issues another key: a key is shown only once.
/// </summary>
internal static class TenantCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Tenant name (1-100 characters)", Required = true };
        var keyName = new Option<string>("--key-name") { Description = "Name of the admin key", DefaultValueFactory = _ => "first admin" };
        var connection = new Option<string>("--connection")
        {
            Description = "Npgsql connection string of the schema owner (the password may come from PGPASSWORD)",
            Required = true,
        };
        var json = new Option<bool>("--json") { Description = "Print tenant_id, tenant_name, created, key_id, key as JSON" };
        var create = new Command("create", "Create a tenant (or find it by name) and issue a admin key") { name, keyName, connection, json };
        create.SetAction(async (parse, cancellationToken) =>
        {
            var tenantName = parse.GetValue(name)!.Trim();
            if (tenantName.Length is 0 or > 100)
            {
                await Console.Error.WriteLineAsync("--name: 1 to 100 characters.");
                return 2;
            }
            await using var db = PdmStores.Create(parse.GetValue(connection)!);
            var existing = (await db.Tenants.ListTenantsAsync(cancellationToken))
                .FirstOrDefault(t => string.Equals(t.Name, tenantName, StringComparison.Ordinal));
            var tenant = existing ?? await db.Tenants.CreateTenantAsync(tenantName, cancellationToken);
            var (key, plaintext) = await db.ApiKeys.CreateApiKeyAsync(tenant.Id, parse.GetValue(keyName)!, ApiKeyRole.Admin, cancellationToken);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new CreatedTenant(tenant.Id, tenant.Name, existing is null, key.Id, plaintext), CliJson.Options));
            }
            else
            {
                Console.WriteLine($"Tenant '{tenant.Name}' ({tenant.Id}) {(existing is null ? "created" : "exists")}.");
                Console.WriteLine($"Tenant-admin key (shown once): {plaintext}");
            }
            return 0;
        });
        return new Command("tenant", "Tenants") { create };
    }

    private sealed record CreatedTenant(Guid TenantId, string TenantName, bool Created, Guid KeyId, string Key);
}
