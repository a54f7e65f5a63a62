using System.Text;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.LocalStack.Tests;

/// <summary>Devices written by the registry, checked by the real broker: who may connect and where they may publish.</summary>
[Collection(SharedMosquitto.Name)]
[Trait("Category", "Integration")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MosquittoDeviceRegistryTests(MosquittoFixture fixture)
{
    [Fact]
    public async Task Registered_device_publishes_to_its_own_topic_but_not_to_another_devices_topic()
    {
        var registry = fixture.Registry();
        var device = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("dev-a"), CancellationToken.None);
        var otherDeviceId = MosquittoFixture.UniqueDeviceId("dev-b");
        await using var service = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("svc"));
        await service.SubscribeAsync(IotHubTopics.AllDeviceEvents, 1, CancellationToken.None);
        await using var client = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device));

        // Mosquitto drops a denied publish silently (MQTT 3.1.1 has no way to say no). The allowed message goes out
        // after it on the same connection, so once that one has arrived the denied one would have arrived first.
        await client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(otherDeviceId), "spoofed"u8.ToArray()), CancellationToken.None);
        await client.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(device.DeviceId), "own"u8.ToArray()), CancellationToken.None);

        var received = await service.NextAsync();
        Assert.Equal(IotHubTopics.DeviceEvents(device.DeviceId), received.Topic);
        Assert.Equal("own", Encoding.UTF8.GetString(received.Payload.Span));
        Assert.False(service.Messages.TryRead(out var extra), $"unexpected message on {extra?.Topic}");
    }

    [Fact]
    public async Task Deleted_device_can_no_longer_connect()
    {
        var registry = fixture.Registry();
        var device = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("gone"), CancellationToken.None);
        await (await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device))).DisposeAsync();

        await registry.DeleteAsync(device.DeviceId, CancellationToken.None);

        await using var client = MqttNetClient.Create(fixture.DeviceOptions(device));
        var error = await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));
        Assert.Equal(5, error.ResultCode);
    }

    [Fact]
    public async Task Updating_a_device_replaces_its_key()
    {
        var registry = fixture.Registry();
        var deviceId = MosquittoFixture.UniqueDeviceId("rekey");
        var first = await registry.CreateOrUpdateAsync(deviceId, CancellationToken.None);

        var second = await registry.CreateOrUpdateAsync(deviceId, CancellationToken.None);

        Assert.NotEqual(first.PrimaryKey, second.PrimaryKey);
        await (await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(second))).DisposeAsync();
        await using var stale = MqttNetClient.Create(fixture.DeviceOptions(first));
        Assert.Equal(5, (await Assert.ThrowsAsync<MqttException>(() => stale.ConnectAsync(CancellationToken.None))).ResultCode);
    }

    [Theory]
    [InlineData("pdm-service")]
    [InlineData("PDM-SERVICE")]
    [InlineData("pdm-devhost")]
    public async Task Registry_refuses_platform_ids_and_the_service_account_keeps_working(string deviceId)
    {
        var registry = fixture.Registry();
        var servicePasswords = await File.ReadAllTextAsync(fixture.Broker.ServicePasswordFile);

        var create = await Assert.ThrowsAsync<ArgumentException>(() => registry.CreateOrUpdateAsync(deviceId, CancellationToken.None));
        var delete = await Assert.ThrowsAsync<ArgumentException>(() => registry.DeleteAsync(deviceId, CancellationToken.None));

        Assert.Equal("deviceId", create.ParamName);
        Assert.Contains("platform", create.Message, StringComparison.Ordinal);
        Assert.Equal("deviceId", delete.ParamName);
        Assert.DoesNotContain(File.ReadAllLines(fixture.Broker.PasswordFile), line => line.StartsWith(deviceId + ":", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(servicePasswords, await File.ReadAllTextAsync(fixture.Broker.ServicePasswordFile));
        await (await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("after-refusal"))).DisposeAsync();
    }

    [Fact]
    public async Task Credential_and_acl_files_are_readable_by_their_owner_only_after_create_and_delete()
    {
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var broker = fixture.Broker;
        Assert.All([broker.PasswordFile, broker.AclFile, broker.ServicePasswordFile, broker.ServiceAclFile],
            file => Assert.Equal(OwnerOnly, File.GetUnixFileMode(file)));

        var registry = fixture.Registry();
        var device = await registry.CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("mode"), CancellationToken.None);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(broker.PasswordFile));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(broker.AclFile));
        // The broker still reads them: the new device can connect.
        await (await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device))).DisposeAsync();

        await registry.DeleteAsync(device.DeviceId, CancellationToken.None);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(broker.PasswordFile));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(broker.AclFile));
    }

    [Fact]
    public async Task Service_account_cannot_connect_on_the_device_listener_nor_a_device_on_the_platform_listener()
    {
        var device = await fixture.Registry().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("split"), CancellationToken.None);
        var serviceOnDevicePort = fixture.ServiceOptions("wrong-door") with { Port = fixture.Broker.Port };
        var deviceOnServicePort = fixture.DeviceOptions(device) with { Port = fixture.Broker.ServicePort };

        await using var service = MqttNetClient.Create(serviceOnDevicePort);
        await using var client = MqttNetClient.Create(deviceOnServicePort);

        Assert.Equal(5, (await Assert.ThrowsAsync<MqttException>(() => service.ConnectAsync(CancellationToken.None))).ResultCode);
        Assert.Equal(5, (await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None))).ResultCode);
    }

    [Fact]
    public async Task Connected_service_client_keeps_its_connection_across_registry_reloads()
    {
        await using var service = await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("stay"));
        var topic = IotHubTopics.DeviceEvents(MosquittoFixture.UniqueDeviceId("stay"));
        await service.SubscribeAsync(topic, 1, CancellationToken.None);

        await fixture.Registry().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("reload"), CancellationToken.None);
        await fixture.Broker.ReloadAsync(CancellationToken.None);
        await service.PublishAsync(new MqttMessage(topic, "still here"u8.ToArray()), CancellationToken.None);

        Assert.Equal("still here", Encoding.UTF8.GetString((await service.NextAsync()).Payload.Span));
        Assert.True(service.IsConnected);
    }
}

/// <summary>The registry's file handling, without a broker.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MosquittoDeviceRegistryFileTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-registry-{Guid.NewGuid():N}"[..28]);
    private readonly MosquittoDeviceRegistry _registry;
    private readonly MosquittoDeviceRegistryOptions _options;

    public MosquittoDeviceRegistryFileTests()
    {
        Directory.CreateDirectory(_directory);
        _options = new MosquittoDeviceRegistryOptions
        {
            PasswordFile = Path.Combine(_directory, "passwords"),
            AclFile = Path.Combine(_directory, "acl"),
            PidFile = Path.Combine(_directory, "no-broker.pid"),
        };
        File.WriteAllText(_options.PasswordFile, "pdm-service:$7$101$c2FsdA==$aGFzaA==\n");
        File.WriteAllText(_options.AclFile, "user pdm-service\ntopic readwrite devices/#\n\npattern read $SYS/#\n");
        _registry = new MosquittoDeviceRegistry(_options);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Create_and_delete_touch_only_that_devices_entries()
    {
        var a = await _registry.CreateOrUpdateAsync("dev-a", CancellationToken.None);
        await _registry.CreateOrUpdateAsync("dev-b", CancellationToken.None);

        await _registry.DeleteAsync("dev-b", CancellationToken.None);

        var passwords = File.ReadAllLines(_options.PasswordFile);
        Assert.Equal(["pdm-service", "dev-a"], passwords.Select(line => line.Split(':')[0]));
        Assert.True(MosquittoPasswordHash.Verify(a.PrimaryKey, passwords[1]["dev-a:".Length..]));
        Assert.Equal(
            ["user pdm-service", "topic readwrite devices/#", "", "pattern read $SYS/#",
             "user dev-a", "topic write devices/dev-a/#", "topic read devices/dev-a/#", ""],
            File.ReadAllLines(_options.AclFile));
        Assert.Equal(32, Convert.FromBase64String(a.PrimaryKey).Length);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public async Task Concurrent_callers_lose_no_update()
    {
        var ids = Enumerable.Range(0, 24).Select(i => $"dev-{i:00}").ToArray();

        // Two registry objects on the same files, as two hosts in one process would have.
        var other = new MosquittoDeviceRegistry(_options);
        await Task.WhenAll(ids.Select((id, i) => Task.Run(() => (i % 2 == 0 ? _registry : other).CreateOrUpdateAsync(id, CancellationToken.None))));

        var users = File.ReadAllLines(_options.PasswordFile).Select(line => line.Split(':')[0]).ToHashSet();
        Assert.Superset(ids.ToHashSet(), users);
        var acl = File.ReadAllLines(_options.AclFile);
        Assert.All(ids, id => Assert.Contains($"user {id}", acl));
    }

    [Fact]
    public async Task Update_waits_while_another_process_holds_the_lock_file()
    {
        Task<DeviceIdentity> create;
        using (new FileStream(_options.PasswordFile + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            create = _registry.CreateOrUpdateAsync("dev-locked", CancellationToken.None);
            await Task.WhenAny(create, Task.Delay(TimeSpan.FromMilliseconds(300)));
            Assert.False(create.IsCompleted);
        }

        await create.WaitAsync(MqttTestExtensions.Timeout);
        Assert.Contains(File.ReadAllLines(_options.PasswordFile), line => line.StartsWith("dev-locked:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("colon:id")]
    [InlineData("slash/id")]
    [InlineData("plus+")]
    [InlineData("-leading-dash")]
    [InlineData("newline\nuser x")]
    public async Task Device_id_that_would_break_the_files_or_topics_is_rejected(string deviceId)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _registry.CreateOrUpdateAsync(deviceId, CancellationToken.None));

        Assert.Contains(deviceId.Split('\n')[0], error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllLines(_options.AclFile), line => line == "user x");
    }

    [Fact]
    public async Task Called_directly_the_registry_never_rewrites_or_removes_a_platform_account()
    {
        var passwords = await File.ReadAllTextAsync(_options.PasswordFile);
        var acl = await File.ReadAllTextAsync(_options.AclFile);

        await Assert.ThrowsAsync<ArgumentException>(() => _registry.CreateOrUpdateAsync("pdm-service", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _registry.DeleteAsync("pdm-service", CancellationToken.None));
        await _registry.CreateOrUpdateAsync("dev-c", CancellationToken.None);

        Assert.StartsWith(passwords, await File.ReadAllTextAsync(_options.PasswordFile), StringComparison.Ordinal);
        Assert.StartsWith(acl, await File.ReadAllTextAsync(_options.AclFile), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_options.PasswordFile));
    }
}
