using Npgsql;
using Pdm.Telemetry;
using static Pdm.Storage.Tests.PostgresFixture;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class RowLevelSecurityTests(PostgresFixture fixture) : IAsyncLifetime
{
    private Tenant _a = null!;
    private Tenant _b = null!;

    public async Task InitializeAsync()
    {
        _a = await fixture.NewTenantAsync("rls-a");
        _b = await fixture.NewTenantAsync("rls-b");
        var now = DateTimeOffset.UtcNow;
        foreach (var tenant in (Tenant[])[_a, _b])
        {
            var device = $"dev-{tenant.Id:N}";
            await fixture.Stores.Devices.RegisterDeviceAsync(tenant.Id, device, CancellationToken.None);
            await fixture.Stores.Readings.WriteReadingsAsync(
                [new(tenant.Id, device, [Sample("shared-machine-id", now, 1, ("temperature", 1))])], CancellationToken.None);
            await fixture.Stores.Rejects.WriteRejectsAsync(
                [new(tenant.Id, device, now, $"rls-{tenant.Id}", [new DecodeError("x", "bad")], "{}", "test")],
                CancellationToken.None);
            await fixture.Stores.Tenants.WriteAuditAsync(tenant.Id, "test", "rls.setup", device, null, CancellationToken.None);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_tenant_sees_only_its_own_machines_readings_and_rejects_through_the_api()
    {
        var machines = await fixture.Stores.Machines.ListMachinesAsync(_a.Id, CancellationToken.None);
        var rejects = await fixture.Stores.Rejects.ListRejectsAsync(_a.Id, null, 100, CancellationToken.None);
        var devices = await fixture.Stores.Devices.ListDevicesAsync(_a.Id, CancellationToken.None);

        Assert.Equal(_a.Id, Assert.Single(machines).TenantId);
        Assert.Equal(_a.Id, Assert.Single(rejects).TenantId);
        Assert.Equal(_a.Id, Assert.Single(devices).TenantId);
        Assert.Equal(1, await fixture.Stores.Readings.CountReadingsAsync(_a.Id, CancellationToken.None));
    }

    [Theory]
    [InlineData("pdm.machines")]
    [InlineData("pdm.readings")]
    [InlineData("pdm.rejected_messages")]
    [InlineData("pdm.devices")]
    [InlineData("pdm.audit_log")]
    public async Task As_the_app_role_with_tenant_a_set_tenant_b_rows_are_invisible(string table)
    {
        await using var connection = await OpenAppAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await SetTenantAsync(connection, transaction, _a.Id);

        var ofB = await CountAsync(connection, transaction, $"SELECT count(*) FROM {table} WHERE tenant_id = $1", _b.Id);
        var ofA = await CountAsync(connection, transaction, $"SELECT count(*) FROM {table} WHERE tenant_id = $1", _a.Id);

        Assert.Equal(0, ofB);
        Assert.True(ofA > 0, $"tenant A should see its own rows in {table}");
    }

    [Theory]
    [InlineData("pdm.machines")]
    [InlineData("pdm.readings")]
    [InlineData("pdm.rejected_messages")]
    [InlineData("pdm.devices")]
    [InlineData("pdm.tenants")]
    public async Task Without_a_tenant_set_the_app_role_sees_nothing(string table)
    {
        await using var connection = await OpenAppAsync();

        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Inserting_a_row_for_tenant_b_while_tenant_a_is_set_fails()
    {
        await using var connection = await OpenAppAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await SetTenantAsync(connection, transaction, _a.Id);

        await using var insert = new NpgsqlCommand(
            "INSERT INTO pdm.readings (tenant_id, machine_id, sensor, ts, value, seq) VALUES ($1, 'm', 's', now(), 1, 1)",
            connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = _b.Id });
        var error = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.Contains("row-level security", error.MessageText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT count(*) FROM pdm.api_keys")]
    [InlineData("SELECT count(*) FROM pdm.readings_default")]
    [InlineData("SELECT count(*) FROM pdm.schema_migrations")]
    [InlineData("UPDATE pdm.tenants SET name = name")]
    public async Task The_app_role_has_no_direct_rights_beyond_its_grants(string sql)
    {
        await using var connection = await OpenAppAsync();
        await using var command = new NpgsqlCommand(sql, connection);

        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    private async Task<NpgsqlConnection> OpenAppAsync()
    {
        var connection = new NpgsqlConnection(fixture.ConnectionStrings.AppConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task SetTenantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId)
    {
        await using var command = new NpgsqlCommand("SELECT set_config('pdm.tenant_id', $1, true)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId.ToString() });
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Guid tenantId)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
