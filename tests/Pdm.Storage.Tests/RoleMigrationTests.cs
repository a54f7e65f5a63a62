using Npgsql;

namespace Pdm.Storage.Tests;

/// <summary>
/// Migration 0010 renamed the roles of existing keys. Its own database, built as release 0009 left it, with keys of
/// every old role, then migrated on: each key must come out with the role docs/api.md promises.
/// </summary>
[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class RoleMigrationTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Migration_0010_maps_each_old_key_role_to_its_new_role()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var database = "pdm_roles_" + Guid.NewGuid().ToString("N")[..8];
        var strings = await DatabaseSetup.EnsureDatabaseAndRolesAsync(fixture.Server.SuperuserConnectionString, database,
            "pdm-app-test-password", timeout.Token);
        var superuser = new NpgsqlConnectionStringBuilder(fixture.Server.SuperuserConnectionString) { Database = database, Pooling = false }
            .ConnectionString;

        var before = await DatabaseMigrator.MigrateAsync(strings.OwnerConnectionString,
            new MigrationOptions { UpToVersion = 9, AppRole = null }, timeout.Token);
        Assert.Equal(9, before.Applied[^1].Version);

        var tenant = Guid.NewGuid();
        var oldRoles = new Dictionary<string, (Guid? Tenant, string Expected)>
        {
            ["tenant-reader"] = (tenant, "viewer"),
            ["tenant-admin"] = (tenant, "admin"),
            ["device-provisioner"] = (tenant, "operator"),
            ["platform-admin"] = (null, "platform-admin"),
        };
        var keyIds = new Dictionary<string, Guid>();
        await using (var connection = new NpgsqlConnection(superuser))
        {
            await connection.OpenAsync(timeout.Token);
            await using (var insertTenant = new NpgsqlCommand("INSERT INTO pdm.tenants (id, name) VALUES ($1, 'old release')", connection))
            {
                insertTenant.Parameters.Add(new NpgsqlParameter { Value = tenant });
                await insertTenant.ExecuteNonQueryAsync(timeout.Token);
            }
            foreach (var (role, (owner, _)) in oldRoles)
            {
                await using var insertKey = new NpgsqlCommand("""
                    INSERT INTO pdm.api_keys (tenant_id, name, prefix, hash, role)
                    VALUES ($1, $2, $3, sha256(convert_to($2, 'UTF8')), $2) RETURNING id
                    """, connection);
                insertKey.Parameters.Add(new NpgsqlParameter { Value = (object?)owner ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
                insertKey.Parameters.Add(new NpgsqlParameter { Value = role });
                insertKey.Parameters.Add(new NpgsqlParameter { Value = "pdm_" + Guid.NewGuid().ToString("N")[..8] });
                keyIds[role] = (Guid)(await insertKey.ExecuteScalarAsync(timeout.Token))!;
            }
        }

        var after = await DatabaseMigrator.MigrateAsync(strings.OwnerConnectionString, new MigrationOptions(), timeout.Token);
        Assert.Equal(10, after.Applied[0].Version);

        foreach (var (role, (_, expected)) in oldRoles)
        {
            var migrated = await fixture.ScalarAsync<string>(superuser, "SELECT role FROM pdm.api_keys WHERE id = $1", keyIds[role]);
            Assert.True(expected == migrated, $"a '{role}' key became '{migrated}', expected '{expected}'");
        }
        // The migrated keys are read through the store as the application sees them.
        await using var stores = PdmStores.Create(strings.AppConnectionString);
        var listed = await stores.ApiKeys.ListApiKeysAsync(tenant, timeout.Token);
        Assert.Equal([ApiKeyRole.Viewer, ApiKeyRole.Operator, ApiKeyRole.Admin], listed.Select(k => k.Role).Order());
        // The old names are refused from now on.
        await Assert.ThrowsAsync<PostgresException>(() => fixture.ScalarAsync<int>(superuser,
            "UPDATE pdm.api_keys SET role = 'tenant-reader' WHERE id = $1 RETURNING 1", keyIds["tenant-reader"]));
    }
}
