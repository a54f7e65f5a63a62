using Npgsql;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class MigrationTests(PostgresFixture fixture)
{
    [Fact]
    public void First_run_applies_every_migration_in_order_with_native_partitions()
    {
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], fixture.FirstMigration.Applied.Select(m => m.Version));
        Assert.False(fixture.FirstMigration.TimescaleDb);
        // now-7d .. now+7d: 15 days, 16 when "now" is not exactly midnight.
        Assert.InRange(fixture.FirstMigration.PartitionsCreated, 15, 16);
    }

    [Fact]
    public async Task Migrating_again_is_a_no_op()
    {
        var report = await DatabaseMigrator.MigrateAsync(fixture.ConnectionStrings.OwnerConnectionString, new MigrationOptions(),
            CancellationToken.None);

        Assert.Empty(report.Applied);
        Assert.Equal(11, report.AlreadyApplied);
        Assert.Empty(report.UnknownApplied);
        Assert.Equal(0, report.PartitionsCreated);
        Assert.Equal(11L, await fixture.ScalarAsync<long>(fixture.SuperuserConnectionString,
            "SELECT count(*) FROM pdm.schema_migrations"));
    }

    [Fact]
    public async Task Concurrent_runs_wait_for_each_other_and_both_succeed()
    {
        var runs = Enumerable.Range(0, 3).Select(_ => DatabaseMigrator.MigrateAsync(
            fixture.ConnectionStrings.OwnerConnectionString, new MigrationOptions(), CancellationToken.None));

        var reports = await Task.WhenAll(runs);

        Assert.All(reports, r => Assert.Empty(r.Applied));
    }

    [Fact]
    public async Task A_changed_applied_migration_is_an_error()
    {
        var original = await fixture.ScalarAsync<string>(fixture.SuperuserConnectionString,
            "SELECT checksum FROM pdm.schema_migrations WHERE version = 1");
        await fixture.ScalarAsync<int>(fixture.SuperuserConnectionString,
            "UPDATE pdm.schema_migrations SET checksum = 'edited' WHERE version = 1 RETURNING 1");
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DatabaseMigrator.MigrateAsync(
                fixture.ConnectionStrings.OwnerConnectionString, new MigrationOptions(), CancellationToken.None));
            Assert.Contains("0001", error.Message, StringComparison.Ordinal);
            Assert.Contains("changed after it was applied", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.ScalarAsync<int>(fixture.SuperuserConnectionString,
                "UPDATE pdm.schema_migrations SET checksum = $1 WHERE version = 1 RETURNING 1", original);
        }
    }

    [Fact]
    public async Task App_role_owns_nothing_and_cannot_bypass_row_level_security()
    {
        await using var connection = new NpgsqlConnection(fixture.SuperuserConnectionString);
        await connection.OpenAsync();
        await using (var role = new NpgsqlCommand(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'pdm_app'", connection))
        await using (var reader = await role.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.False(reader.GetBoolean(0), "pdm_app is a superuser");
            Assert.False(reader.GetBoolean(1), "pdm_app has BYPASSRLS");
            Assert.False(reader.GetBoolean(2), "pdm_app has CREATEROLE");
            Assert.False(reader.GetBoolean(3), "pdm_app has CREATEDB");
        }

        var owners = new Dictionary<string, (string Owner, bool Rls, bool Forced)>();
        await using (var tables = new NpgsqlCommand("""
            SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'pdm' AND c.relkind IN ('r', 'p')
            """, connection))
        await using (var reader = await tables.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                owners[reader.GetString(0)] = (reader.GetString(1), reader.GetBoolean(2), reader.GetBoolean(3));
            }
        }

        Assert.All(owners, t => Assert.Equal("pdm_owner", t.Value.Owner));
        foreach (var table in (string[])["tenants", "api_keys", "devices", "machines", "readings", "rejected_messages", "audit_log"])
        {
            Assert.True(owners[table].Rls, $"{table}: row-level security is not enabled");
            Assert.True(owners[table].Forced, $"{table}: row-level security is not forced");
        }
    }
}
