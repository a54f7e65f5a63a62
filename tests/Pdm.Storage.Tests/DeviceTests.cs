namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DeviceTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_device_id_belongs_to_one_tenant_only()
    {
        var a = await fixture.NewTenantAsync("dev-a");
        var b = await fixture.NewTenantAsync("dev-b");
        var deviceId = $"gateway-{Guid.NewGuid():N}";

        var registered = await fixture.Stores.Devices.RegisterDeviceAsync(a.Id, deviceId, CancellationToken.None);
        var again = await fixture.Stores.Devices.RegisterDeviceAsync(a.Id, deviceId, CancellationToken.None);
        var taken = await Assert.ThrowsAsync<DeviceIdTakenException>(() =>
            fixture.Stores.Devices.RegisterDeviceAsync(b.Id, deviceId, CancellationToken.None));

        Assert.Equal(registered, again);
        Assert.Equal(deviceId, taken.DeviceId);
        Assert.Equal(a.Id, await fixture.Stores.Devices.ResolveDeviceTenantAsync(deviceId, CancellationToken.None));
        Assert.Empty(await fixture.Stores.Devices.ListDevicesAsync(b.Id, CancellationToken.None));
    }

    [Fact]
    public async Task An_unknown_device_resolves_to_no_tenant()
    {
        Assert.Null(await fixture.Stores.Devices.ResolveDeviceTenantAsync($"nobody-{Guid.NewGuid():N}", CancellationToken.None));
    }

    [Fact]
    public async Task A_deleted_or_disabled_device_no_longer_resolves()
    {
        var tenant = await fixture.NewTenantAsync("dev-delete");
        var other = await fixture.NewTenantAsync("dev-delete-other");
        var disabled = $"disabled-{Guid.NewGuid():N}";
        var deleted = $"deleted-{Guid.NewGuid():N}";
        await fixture.Stores.Devices.RegisterDeviceAsync(tenant.Id, disabled, CancellationToken.None);
        await fixture.Stores.Devices.RegisterDeviceAsync(tenant.Id, deleted, CancellationToken.None);
        // Warm the cache, so the test proves local changes invalidate it.
        Assert.Equal(tenant.Id, await fixture.Stores.Devices.ResolveDeviceTenantAsync(disabled, CancellationToken.None));
        Assert.Equal(tenant.Id, await fixture.Stores.Devices.ResolveDeviceTenantAsync(deleted, CancellationToken.None));

        Assert.False(await fixture.Stores.Devices.DeleteDeviceAsync(other.Id, deleted, CancellationToken.None));
        Assert.True(await fixture.Stores.Devices.SetDeviceDisabledAsync(tenant.Id, disabled, true, CancellationToken.None));
        Assert.True(await fixture.Stores.Devices.DeleteDeviceAsync(tenant.Id, deleted, CancellationToken.None));

        Assert.Null(await fixture.Stores.Devices.ResolveDeviceTenantAsync(disabled, CancellationToken.None));
        Assert.Equal(new DeviceOwner(tenant.Id, true), await fixture.Stores.Devices.ResolveDeviceAsync(disabled, CancellationToken.None));
        Assert.Null(await fixture.Stores.Devices.ResolveDeviceTenantAsync(deleted, CancellationToken.None));
    }
}
