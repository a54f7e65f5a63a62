using Npgsql;
using static Pdm.Storage.Tests.PostgresFixture;

namespace Pdm.Storage.Tests;

/// <summary>Rollups kept from ingest's pending notes, and retention by dropping partitions, on a real PostgreSQL.</summary>
[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class RollupRetentionTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Retention_drops_whole_partitions_older_than_each_tables_period_and_keeps_the_rest()
    {
        var tenant = await fixture.NewTenantAsync("retention");
        var today = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero);
        // Within the writer's 400-day window, so each day gets partitions; far older goes to DEFAULT.
        DateTimeOffset[] days = [today.AddDays(-390).AddHours(3), today.AddDays(-380).AddHours(3), today.AddDays(-2).AddHours(3)];
        var ancient = today.AddDays(-2000);
        await fixture.Stores.Readings.WriteReadingsAsync(
            [new(tenant.Id, "gw-ret", [.. days.Append(ancient).Select((d, i) => Sample("ret-1", d, i + 1, ("temperature", 20 + i)))])],
            CancellationToken.None);
        await ExecuteAsync("""
            INSERT INTO pdm.anomaly_scores (tenant_id, machine_id, ts, seq, score, threshold, anomaly, isolation_forest,
                statistical, temporal, iso_zone, model)
            SELECT $1, 'ret-1', t, 1, 0.1, 0.5, false, 0, 0, 0, NULL, 'baseline' FROM unnest($2::timestamptz[]) t
            """, tenant.Id, days.Append(ancient).Select(d => d.UtcDateTime).ToArray());
        await fixture.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);
        var oldDay = days[0].ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await ExistsAsync($"readings_p{oldDay}"));
        Assert.True(await ExistsAsync($"anomaly_scores_p{oldDay}"));
        Assert.Equal(4L, await CountAsync("SELECT count(*) FROM pdm.reading_rollups_1m WHERE tenant_id = $1", tenant.Id));

        var dropped = await fixture.Stores.Retention.ApplyAsync(new Dictionary<string, TimeSpan>
        {
            [RetentionTables.Readings] = TimeSpan.FromDays(365),
            [RetentionTables.Scores] = TimeSpan.FromDays(365),
            [RetentionTables.ReadingRollups1m] = TimeSpan.FromDays(300),
        }, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Contains($"readings_p{oldDay}", dropped[RetentionTables.Readings]);
        Assert.Contains($"anomaly_scores_p{oldDay}", dropped[RetentionTables.Scores]);
        Assert.False(await ExistsAsync($"readings_p{oldDay}"));
        Assert.False(await ExistsAsync($"anomaly_scores_p{oldDay}"));
        Assert.True(await ExistsAsync($"readings_p{days[2]:yyyyMMdd}"));
        // What is left: the recent value, in readings and scores; the DEFAULT partition's ancient rows are gone too.
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM pdm.readings WHERE tenant_id = $1", tenant.Id));
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM pdm.anomaly_scores WHERE tenant_id = $1", tenant.Id));
        // Rollup months that ended before their cutoff went (and DEFAULT's ancient row); the hourly ones were not asked.
        Assert.Contains($"reading_rollups_1m_p{days[0]:yyyyMM}", dropped[RetentionTables.ReadingRollups1m]);
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM pdm.reading_rollups_1m WHERE tenant_id = $1", tenant.Id));
        Assert.Equal(4L, await CountAsync("SELECT count(*) FROM pdm.reading_rollups_1h WHERE tenant_id = $1", tenant.Id));

        await Assert.ThrowsAsync<ArgumentException>(() =>
            fixture.Stores.Retention.DropBeforeAsync("tenants", DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Fact]
    public async Task Rollups_recompute_touched_buckets_so_replays_change_nothing_and_late_values_are_counted()
    {
        var tenant = await fixture.NewTenantAsync("rollup");
        var t0 = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1).AddHours(10);
        TenantBatch[] batch = [new(tenant.Id, "gw-roll", [.. Enumerable.Range(0, 12).Select(i =>
            Sample("roll-1", t0.AddSeconds(10 * i), i + 1, ("temperature", i), ("load", 50)))])];
        await fixture.Stores.Readings.WriteReadingsAsync(batch, CancellationToken.None);
        var first = await fixture.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);
        Assert.True(first.Spans >= 1);
        Assert.Equal(4L, await CountAsync("SELECT count(*) FROM pdm.reading_rollups_1m WHERE tenant_id = $1", tenant.Id)); // 2 minutes x 2 sensors

        // A replay stores nothing new and notes nothing; rolling up again finds no work for this tenant.
        await fixture.Stores.Readings.WriteReadingsAsync(batch, CancellationToken.None);
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM pdm.rollup_pending WHERE tenant_id = $1", tenant.Id));
        var minute = "SELECT min || '/' || max || '/' || mean || '/' || count FROM pdm.reading_rollups_1m "
            + "WHERE tenant_id = $1 AND sensor = 'temperature' AND bucket = $2";
        Assert.Equal("0/5/2.5/6", await ScalarAsync<string>(minute, tenant.Id, t0.UtcDateTime));

        // A late value for the first minute: recomputed, not added twice.
        await fixture.Stores.Readings.WriteReadingsAsync(
            [new(tenant.Id, "gw-roll", [Sample("roll-1", t0.AddSeconds(5), 100, ("temperature", 11.5))])], CancellationToken.None);
        await fixture.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);
        await fixture.Stores.Rollups.RollUpAsync(tenant.Id, "roll-1", ["temperature"], t0, t0.AddMinutes(1), CancellationToken.None);
        Assert.Equal("0/11.5/3.7857142857142856/7", await ScalarAsync<string>(minute, tenant.Id, t0.UtcDateTime));
        Assert.Equal(13, await ScalarAsync<int>(
            "SELECT count FROM pdm.reading_rollups_1h WHERE tenant_id = $1 AND sensor = 'temperature' AND bucket = $2",
            tenant.Id, t0.UtcDateTime));
        Assert.Equal(t0.AddSeconds(110).UtcDateTime, await ScalarAsync<DateTime>(
            "SELECT last_seen FROM pdm.machine_activity WHERE tenant_id = $1 AND machine_id = 'roll-1'", tenant.Id));
    }

    [Fact]
    public async Task One_run_rolls_up_many_machines_of_several_tenants_and_counts_an_hour_with_two_ranges_once()
    {
        var plant = await fixture.NewTenantAsync("rollup-plant");
        var other = await fixture.NewTenantAsync("rollup-other");
        var t0 = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1).AddHours(14);
        // Machine m-0 gets two writes 30 minutes apart (two ranges, one hour); the others one write each.
        TenantBatch Write(Guid tenant, string machine, DateTimeOffset at, int count) => new(tenant, "gw-many", [.. Enumerable.Range(0, count)
            .Select(i => Sample(machine, at.AddSeconds(10 * i), (at.Minute * 100) + i + 1, ("temperature", i), ("current", 2.5)))]);
        await fixture.Stores.Readings.WriteReadingsAsync([.. Enumerable.Range(0, 5).Select(m => Write(plant.Id, $"m-{m}", t0, 6)),
            Write(other.Id, "m-0", t0, 3)], CancellationToken.None);
        await fixture.Stores.Readings.WriteReadingsAsync([Write(plant.Id, "m-0", t0.AddMinutes(30), 6)], CancellationToken.None);

        var run = await fixture.Stores.Rollups.RollUpPendingAsync(1000, CancellationToken.None);

        Assert.True(run.Ranges >= 7, $"ranges {run.Ranges}");
        const string hourCount = "SELECT count || '/' || minutes FROM pdm.reading_rollups_1h "
            + "WHERE tenant_id = $1 AND machine_id = $2 AND sensor = 'temperature' AND bucket = $3";
        Assert.Equal("12/2", await ScalarAsync<string>(hourCount, plant.Id, "m-0", t0.UtcDateTime));
        Assert.Equal("3/1", await ScalarAsync<string>(hourCount, other.Id, "m-0", t0.UtcDateTime));
        for (var m = 1; m < 5; m++)
        {
            Assert.Equal("6/1", await ScalarAsync<string>(hourCount, plant.Id, $"m-{m}", t0.UtcDateTime));
        }
        Assert.Equal(t0.AddMinutes(30).AddSeconds(50).UtcDateTime, await ScalarAsync<DateTime>(
            "SELECT last_seen FROM pdm.machine_activity WHERE tenant_id = $1 AND machine_id = 'm-0'", plant.Id));
        Assert.Equal(t0.AddSeconds(20).UtcDateTime, await ScalarAsync<DateTime>(
            "SELECT last_seen FROM pdm.machine_activity WHERE tenant_id = $1 AND machine_id = 'm-0'", other.Id));
    }

    private Task<bool> ExistsAsync(string table) =>
        ScalarAsync<bool>("SELECT to_regclass('pdm.' || $1) IS NOT NULL", table);

    private Task<long> CountAsync(string sql, params object[] parameters) => ScalarAsync<long>(sql, parameters);

    private Task<T> ScalarAsync<T>(string sql, params object[] parameters) =>
        fixture.ScalarAsync<T>(fixture.SuperuserConnectionString, sql, parameters);

    private async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(fixture.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync();
    }
}
