namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class TenantTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_created_tenant_can_be_read_back_and_is_listed()
    {
        var tenant = await fixture.NewTenantAsync("acme");

        Assert.Equal(tenant, await fixture.Stores.Tenants.GetTenantAsync(tenant.Id, CancellationToken.None));
        Assert.Contains(tenant, await fixture.Stores.Tenants.ListTenantsAsync(CancellationToken.None));
        Assert.Equal("{}", tenant.SettingsJson);
    }

    [Fact]
    public async Task A_second_tenant_with_the_same_name_is_a_conflict()
    {
        var tenant = await fixture.NewTenantAsync("dup");

        var error = await Assert.ThrowsAsync<TenantNameTakenException>(() =>
            fixture.Stores.Tenants.CreateTenantAsync(tenant.Name, CancellationToken.None));

        Assert.Equal(tenant.Name, error.Name);
    }

    [Fact]
    public async Task Unknown_tenant_is_null()
    {
        Assert.Null(await fixture.Stores.Tenants.GetTenantAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Upserting_a_machine_sets_name_and_kind()
    {
        var tenant = await fixture.NewTenantAsync("machine-upsert");

        var created = await fixture.Stores.Machines.UpsertMachineAsync(tenant.Id, "m-7", "Press 7", "press", CancellationToken.None);
        var renamed = await fixture.Stores.Machines.UpsertMachineAsync(tenant.Id, "m-7", "Press seven", "press", CancellationToken.None);

        Assert.Equal(created.Id, renamed.Id);
        Assert.Equal("Press seven", (await fixture.Stores.Machines.GetMachineAsync(tenant.Id, "m-7", CancellationToken.None))!.Name);
        Assert.Null(await fixture.Stores.Machines.GetMachineAsync(tenant.Id, "m-8", CancellationToken.None));
    }

    [Fact]
    public async Task Audit_entries_are_kept_for_tenants_and_for_the_platform()
    {
        var tenant = await fixture.NewTenantAsync("audit");
        var target = Guid.NewGuid().ToString();

        await fixture.Stores.Tenants.WriteAuditAsync(tenant.Id, "key-1", "device.register", target, """{"device":"d1"}""",
            CancellationToken.None);
        await fixture.Stores.Tenants.WriteAuditAsync(null, "root", "tenant.create", target, null, CancellationToken.None);

        Assert.Equal(1L, await fixture.ScalarAsync<long>(fixture.SuperuserConnectionString,
            "SELECT count(*) FROM pdm.audit_log WHERE target = $1 AND tenant_id = $2 AND details->>'device' = 'd1'",
            target, tenant.Id));
        Assert.Equal(1L, await fixture.ScalarAsync<long>(fixture.SuperuserConnectionString,
            "SELECT count(*) FROM pdm.audit_log WHERE target = $1 AND tenant_id IS NULL", target));
    }

    [Fact]
    public async Task Ping_answers_as_the_app_role()
    {
        Assert.True(await fixture.Stores.Health.PingAsync(CancellationToken.None));
    }
}
