using Pdm.Telemetry;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class RejectTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_reject_is_stored_once_per_message_key_with_its_reasons_and_payload()
    {
        var tenant = await fixture.NewTenantAsync("rejects");
        var key = $"p0-{Guid.NewGuid():N}";
        var receivedAt = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        RejectedMessage[] rejects =
        [
            new(tenant.Id, "dev-r", receivedAt, key,
                [new DecodeError("machines[0].values.temperature", "912.4 outside -50..400 degC"), new DecodeError("", "second")],
                """{"v":1,"machines":[]}""", "ingest"),
        ];

        var first = await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None);
        var replay = await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None);

        Assert.Equal(1, first);
        Assert.Equal(0, replay);
        var stored = Assert.Single(await fixture.Stores.Rejects.ListRejectsAsync(tenant.Id, null, 10, CancellationToken.None));
        Assert.Equal(key, stored.MessageKey);
        Assert.Equal(receivedAt, stored.ReceivedAt);
        Assert.Equal(rejects[0].Errors, stored.Errors);
        Assert.Equal(rejects[0].Payload, stored.Payload);
        Assert.Equal("ingest", stored.Source);
    }

    [Fact]
    public async Task A_reject_from_an_unknown_device_is_kept_without_tenant_and_stored_once()
    {
        var tenant = await fixture.NewTenantAsync("rejects-unknown");
        var key = $"unknown-{Guid.NewGuid():N}";
        RejectedMessage[] rejects =
        [
            new(null, "stranger", DateTimeOffset.UtcNow, key, [new DecodeError("device", "not registered")], "raw", "ingest"),
        ];

        Assert.Equal(1, await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None));
        Assert.Equal(0, await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None));

        Assert.Equal(1L, await fixture.ScalarAsync<long>(fixture.SuperuserConnectionString,
            "SELECT count(*) FROM pdm.rejected_messages WHERE message_key = $1 AND tenant_id IS NULL", key));
        Assert.Empty(await fixture.Stores.Rejects.ListRejectsAsync(tenant.Id, null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Rejects_are_listed_newest_first_from_a_given_time()
    {
        var tenant = await fixture.NewTenantAsync("rejects-order");
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await fixture.Stores.Rejects.WriteRejectsAsync(
        [
            .. Enumerable.Range(0, 3).Select(i => new RejectedMessage(tenant.Id, "d", t0.AddMinutes(i), $"order-{tenant.Id}-{i}",
                [new DecodeError("", "bad")], "x", "ingest")),
        ], CancellationToken.None);

        var listed = await fixture.Stores.Rejects.ListRejectsAsync(tenant.Id, t0.AddMinutes(1), 10, CancellationToken.None);

        Assert.Equal([t0.AddMinutes(2), t0.AddMinutes(1)], listed.Select(r => r.ReceivedAt));
    }
}

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class RejectContentTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Text_postgres_refuses_is_stored_escaped_with_the_blob_that_keeps_the_original()
    {
        var tenant = await fixture.NewTenantAsync("rejects-nul");
        var key = $"nul-{Guid.NewGuid():N}";
        RejectedMessage[] rejects =
        [
            new(tenant.Id, "dev\0x", DateTimeOffset.UtcNow, key,
                [new DecodeError("machines[0].\0", "bad \ud800 value")], "{\"temperature\":1}\0garbage\udc00", "ingest")
            {
                PayloadBlob = $"{tenant.Id}/{key}.bin",
            },
        ];

        Assert.Equal(1, await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None));

        var stored = Assert.Single(await fixture.Stores.Rejects.ListRejectsAsync(tenant.Id, null, 10, CancellationToken.None));
        Assert.Equal("{\"temperature\":1}\\u0000garbage\uFFFD", stored.Payload);
        Assert.Equal("dev\\u0000x", stored.DeviceId);
        Assert.Equal(new DecodeError("machines[0].\\u0000", "bad \uFFFD value"), stored.Errors[0]);
        Assert.Equal($"{tenant.Id}/{key}.bin", stored.PayloadBlob);
    }

    [Fact]
    public async Task An_unattributed_reject_keeps_its_blob_reference()
    {
        var key = $"unattributed-{Guid.NewGuid():N}";
        RejectedMessage[] rejects =
        [
            new(null, "stranger", DateTimeOffset.UtcNow, key, [new DecodeError("", "NUL")], "a\0b", "ingest") { PayloadBlob = "unattributed/x.bin" },
        ];

        Assert.Equal(1, await fixture.Stores.Rejects.WriteRejectsAsync(rejects, CancellationToken.None));

        Assert.Equal("unattributed/x.bin", await fixture.ScalarAsync<string>(fixture.SuperuserConnectionString,
            "SELECT payload_blob FROM pdm.rejected_messages WHERE message_key = $1", key));
    }
}
