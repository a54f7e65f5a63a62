using Npgsql;
using static Pdm.Storage.Tests.PostgresFixture;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ReadingsTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task Same_machine_sensor_and_timestamp_twice_is_stored_once_and_counted_as_duplicate()
    {
        var tenant = await fixture.NewTenantAsync("dedupe");
        var at = Now.AddMinutes(-5);
        TenantBatch[] batch = [new(tenant.Id, "dev-dedupe", [Sample("press-1", at, 1, ("temperature", 71.5), ("vibration", 0.3))])];

        var first = await fixture.Stores.Readings.WriteReadingsAsync(batch, CancellationToken.None);
        var second = await fixture.Stores.Readings.WriteReadingsAsync(batch, CancellationToken.None);

        Assert.Equal(new IngestWriteResult(2, 0, 1), first);
        Assert.Equal(new IngestWriteResult(0, 2, 0), second);
        Assert.Equal(2, await fixture.Stores.Readings.CountReadingsAsync(tenant.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Duplicates_inside_one_batch_and_against_stored_rows_are_all_counted()
    {
        var tenant = await fixture.NewTenantAsync("dedupe-mixed");
        var at = Now.AddMinutes(-10);
        await fixture.Stores.Readings.WriteReadingsAsync(
            [new(tenant.Id, "dev-mixed", [Sample("m1", at, 1, ("temperature", 1))])], CancellationToken.None);

        var result = await fixture.Stores.Readings.WriteReadingsAsync(
        [
            new(tenant.Id, "dev-mixed", [Sample("m1", at, 1, ("temperature", 1)), Sample("m1", at.AddSeconds(1), 2, ("temperature", 2))]),
            new(tenant.Id, "dev-mixed", [Sample("m1", at.AddSeconds(1), 2, ("temperature", 2))]),
        ], CancellationToken.None);

        Assert.Equal(new IngestWriteResult(1, 2, 0), result);
        Assert.Equal(2, await fixture.Stores.Readings.CountReadingsAsync(tenant.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_long_batch_out_of_order_with_uneven_sensors_is_stored_value_for_value()
    {
        // Staging groups a machine's sensor into runs of at most 64 values in key order; 150 samples arriving newest
        // first, one sensor in every third sample only, span several runs and must come back exactly as sent.
        var tenant = await fixture.NewTenantAsync("long-runs");
        var t0 = Now.AddHours(-2);
        var samples = Enumerable.Range(0, 150).Reverse().Select(i => i % 3 == 0
            ? Sample("mill", t0.AddSeconds(i), i, ("temperature", i + 0.25), ("spindle_load", -i))
            : Sample("mill", t0.AddSeconds(i), i, ("temperature", i + 0.25))).ToList();

        var result = await fixture.Stores.Readings.WriteReadingsAsync([new(tenant.Id, "dev-long", samples)], CancellationToken.None);
        var stored = await fixture.Stores.Readings.QueryReadingsAsync(tenant.Id, "mill", t0, t0.AddHours(1), null, 1000,
            CancellationToken.None);

        Assert.Equal(new IngestWriteResult(200, 0, 1), result);
        var expected = samples.OrderBy(s => s.Timestamp)
            .SelectMany(s => s.Values.OrderBy(v => v.Sensor, StringComparer.Ordinal)
                .Select(v => (s.Timestamp.ToUnixTimeMilliseconds(), v.Sensor, v.Value, s.Sequence)));
        Assert.Equal(expected, stored.Select(r => (r.Timestamp.ToUnixTimeMilliseconds(), r.Sensor, r.Value, r.Sequence)));
    }

    [Fact]
    public async Task Unknown_machine_ids_are_registered_for_the_tenant_with_the_first_device()
    {
        var tenant = await fixture.NewTenantAsync("machines");
        var result = await fixture.Stores.Readings.WriteReadingsAsync(
        [
            new(tenant.Id, "gw-a", [Sample("lathe-1", Now, 1, ("speed", 1200)), Sample("lathe-2", Now, 1, ("speed", 900))]),
            new(tenant.Id, "gw-b", [Sample("lathe-2", Now.AddSeconds(1), 2, ("speed", 901))]),
        ], CancellationToken.None);

        var machines = await fixture.Stores.Machines.ListMachinesAsync(tenant.Id, CancellationToken.None);
        Assert.Equal(2, result.MachinesCreated);
        Assert.Equal(["lathe-1", "lathe-2"], machines.Select(m => m.MachineId));
        Assert.All(machines, m => Assert.Equal("gw-a", m.FirstSeenByDevice));
    }

    [Fact]
    public async Task Several_tenants_in_one_call_each_get_their_own_rows()
    {
        var a = await fixture.NewTenantAsync("multi-a");
        var b = await fixture.NewTenantAsync("multi-b");
        var result = await fixture.Stores.Readings.WriteReadingsAsync(
        [
            new(a.Id, "dev-multi-a", [Sample("m", Now, 1, ("temperature", 1), ("pressure", 2))]),
            new(b.Id, "dev-multi-b", [Sample("m", Now, 1, ("temperature", 3))]),
            new(a.Id, "dev-multi-a2", [Sample("m", Now.AddSeconds(1), 2, ("temperature", 4))]),
        ], CancellationToken.None);

        Assert.Equal(new IngestWriteResult(4, 0, 2), result);
        Assert.Equal(3, await fixture.Stores.Readings.CountReadingsAsync(a.Id, CancellationToken.None));
        Assert.Equal(1, await fixture.Stores.Readings.CountReadingsAsync(b.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Values_far_from_today_land_in_a_created_partition_or_the_default_one()
    {
        var tenant = await fixture.NewTenantAsync("partitions");
        var monthAgo = Now.AddDays(-30);
        var ancient = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        var farFuture = Now.AddYears(2);

        var result = await fixture.Stores.Readings.WriteReadingsAsync(
        [
            new(tenant.Id, "dev-partitions",
            [
                Sample("m", monthAgo, 1, ("temperature", 1)),
                Sample("m", ancient, 2, ("temperature", 2)),
                Sample("m", farFuture, 3, ("temperature", 3)),
            ]),
        ], CancellationToken.None);

        Assert.Equal(3, result.ValuesInserted);
        Assert.Equal($"pdm.readings_p{monthAgo.UtcDateTime:yyyyMMdd}", await PartitionOfAsync(tenant.Id, monthAgo));
        Assert.Equal("pdm.readings_default", await PartitionOfAsync(tenant.Id, ancient));
        Assert.Equal("pdm.readings_default", await PartitionOfAsync(tenant.Id, farFuture));
    }

    [Fact]
    public async Task Creating_a_partition_later_moves_its_rows_out_of_the_default_partition()
    {
        var tenant = await fixture.NewTenantAsync("partition-move");
        var at = new DateTimeOffset(1999, 12, 31, 23, 59, 0, TimeSpan.Zero);
        await fixture.Stores.Readings.WriteReadingsAsync(
            [new(tenant.Id, "dev-move", [Sample("m", at, 1, ("temperature", 1))])], CancellationToken.None);
        Assert.Equal("pdm.readings_default", await PartitionOfAsync(tenant.Id, at));

        var created = await fixture.ScalarAsync<int>(fixture.SuperuserConnectionString,
            "SELECT pdm.ensure_reading_partitions($1, $1)", at);

        Assert.Equal(1, created);
        Assert.Equal("pdm.readings_p19991231", await PartitionOfAsync(tenant.Id, at));
        Assert.Equal(1, await fixture.Stores.Readings.CountReadingsAsync(tenant.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Query_returns_one_machines_values_in_time_order_filtered_by_sensor()
    {
        var tenant = await fixture.NewTenantAsync("query");
        var t0 = Now.AddHours(-1);
        await fixture.Stores.Readings.WriteReadingsAsync(
        [
            new(tenant.Id, "dev-query",
            [
                Sample("pump", t0.AddSeconds(2), 3, ("temperature", 22), ("pressure", 1.2)),
                Sample("pump", t0, 1, ("temperature", 20), ("pressure", 1.0)),
                Sample("pump", t0.AddSeconds(1), 2, ("temperature", 21), ("pressure", 1.1)),
                Sample("fan", t0, 1, ("temperature", 99)),
            ]),
        ], CancellationToken.None);

        var all = await fixture.Stores.Readings.QueryReadingsAsync(tenant.Id, "pump", t0, t0.AddSeconds(2), null, 100,
            CancellationToken.None);
        var temperatures = await fixture.Stores.Readings.QueryReadingsAsync(tenant.Id, "pump", t0, t0.AddMinutes(1),
            "temperature", 2, CancellationToken.None);

        Assert.Equal(4, all.Count);
        Assert.Equal([1L, 1L, 2L, 2L], all.Select(r => r.Sequence));
        Assert.Equal([20.0, 21.0], temperatures.Select(r => r.Value));
        Assert.Equal(t0.ToUnixTimeMilliseconds(), temperatures[0].Timestamp.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Raw_copy_is_refused_for_the_app_role_because_of_row_level_security()
    {
        var tenant = await fixture.NewTenantAsync("raw-copy");

        var error = await Assert.ThrowsAsync<PostgresException>(() => fixture.Stores.Readings.CopyRawAsync(
            tenant.Id, [Sample("m", Now, 1, ("temperature", 1))], CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, error.SqlState);
    }

    private Task<string> PartitionOfAsync(Guid tenantId, DateTimeOffset at) =>
        fixture.ScalarAsync<string>(fixture.SuperuserConnectionString,
            "SELECT tableoid::regclass::text FROM pdm.readings WHERE tenant_id = $1 AND ts = $2", tenantId, at);
}
