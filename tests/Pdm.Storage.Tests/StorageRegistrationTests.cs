using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class StorageRegistrationTests(PostgresFixture fixture)
{
    [Fact]
    public async Task AddPdmStorage_registers_every_store_over_one_data_source_of_the_app_role()
    {
        var services = new ServiceCollection()
            .AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance)
            .AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        // Read at first use, as the function app reads it from its validated options.
        services.AddPdmStorage(_ => fixture.ConnectionStrings.AppConnectionString);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var dataSource = provider.GetRequiredService<NpgsqlDataSource>();
        Assert.Same(dataSource, provider.GetRequiredService<NpgsqlDataSource>());
        await using (var command = dataSource.CreateCommand("SELECT current_user"))
        {
            Assert.Equal(DatabaseSetup.AppRole, await command.ExecuteScalarAsync(CancellationToken.None));
        }
        var tenant = await provider.GetRequiredService<TenantStore>().CreateTenantAsync($"di-{Guid.NewGuid():N}", CancellationToken.None);
        var deviceId = $"di-{Guid.NewGuid():N}";
        await provider.GetRequiredService<DeviceStore>().RegisterDeviceAsync(tenant.Id, deviceId, CancellationToken.None);
        Assert.Equal(tenant.Id, await provider.GetRequiredService<DeviceStore>().ResolveDeviceTenantAsync(deviceId, CancellationToken.None));
        Assert.True(await provider.GetRequiredService<DatabaseHealth>().PingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Disposing_PdmStores_closes_its_data_source()
    {
        var stores = PdmStores.Create(fixture.ConnectionStrings.AppConnectionString);
        await stores.Tenants.ListTenantsAsync(CancellationToken.None);

        await stores.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => stores.Tenants.ListTenantsAsync(CancellationToken.None));
    }
}
