using System.Net;
using System.Net.Http.Headers;
using Azure;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.LocalStack.Tests;

/// <summary>
/// The registry client the function app ships, against the stand-in of IoT Hub's registry REST API, checked by the
/// real broker: the device it creates connects with the key the client chose.
/// </summary>
[Collection(SharedMosquitto.Name)]
[Trait("Category", "Integration")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class IotHubRegistryStandInTests(MosquittoFixture fixture) : IAsyncLifetime
{
    private IotHubRegistryStandIn _standIn = null!;

    public async Task InitializeAsync() =>
        _standIn = await IotHubRegistryStandIn.StartAsync(fixture.Broker.DeviceRegistry(), 0, loggerFactory: null, CancellationToken.None);

    public async Task DisposeAsync() => await _standIn.DisposeAsync();

    private IotHubRegistryClient Client(string? connectionString = null) =>
        IotHubRegistryClient.FromConnectionString(connectionString ?? _standIn.ConnectionString, _standIn.Endpoint);

    [Fact]
    public async Task Device_created_through_the_registry_client_connects_to_the_broker_with_its_key()
    {
        var deviceId = MosquittoFixture.UniqueDeviceId("rest");

        var device = await Client().CreateOrUpdateAsync(deviceId, CancellationToken.None);

        Assert.Equal(deviceId, device.DeviceId);
        await using var connected = await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(device));
        await connected.PublishAsync(new MqttMessage(IotHubTopics.DeviceEvents(deviceId), "{}"u8.ToArray()), CancellationToken.None);
    }

    [Fact]
    public async Task Registering_an_existing_device_again_replaces_its_key_and_the_old_key_stops_working()
    {
        var deviceId = MosquittoFixture.UniqueDeviceId("again");
        var first = await Client().CreateOrUpdateAsync(deviceId, CancellationToken.None);

        // The client's first PUT gets 409 DeviceAlreadyExists, its second (If-Match: "*") replaces the device.
        var second = await Client().CreateOrUpdateAsync(deviceId, CancellationToken.None);

        Assert.NotEqual(first.PrimaryKey, second.PrimaryKey);
        await (await MqttTestExtensions.ConnectedAsync(fixture.DeviceOptions(second))).DisposeAsync();
        await using var stale = MqttNetClient.Create(fixture.DeviceOptions(first));
        Assert.Equal(5, (await Assert.ThrowsAsync<MqttException>(() => stale.ConnectAsync(CancellationToken.None))).ResultCode);
    }

    [Fact]
    public async Task Deleted_device_can_no_longer_connect_and_deleting_it_again_is_no_error()
    {
        var device = await Client().CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("del"), CancellationToken.None);

        await Client().DeleteAsync(device.DeviceId, CancellationToken.None);
        await Client().DeleteAsync(device.DeviceId, CancellationToken.None);

        await using var client = MqttNetClient.Create(fixture.DeviceOptions(device));
        Assert.Equal(5, (await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None))).ResultCode);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_a_401_and_writes_nothing()
    {
        var deviceId = MosquittoFixture.UniqueDeviceId("nokey");
        var wrongKey = Convert.ToBase64String(new byte[32]);
        var wrong = $"HostName={IotHubRegistryStandIn.HostName};SharedAccessKeyName={IotHubRegistryStandIn.PolicyName};SharedAccessKey={wrongKey}";

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => Client(wrong).CreateOrUpdateAsync(deviceId, CancellationToken.None));

        Assert.Equal(401, error.Status);
        Assert.Equal("IotHubUnauthorizedAccess", error.ErrorCode);
        Assert.False(fixture.Broker.DeviceRegistry().Contains(deviceId));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer abc")]
    [InlineData("SharedAccessSignature sr=127.0.0.1%2Fdevices&sig=AAAA&se=4102444800&skn=registryReadWrite")]
    public async Task A_request_without_a_valid_signature_is_a_401(string? authorization)
    {
        using var http = new HttpClient { BaseAddress = _standIn.Endpoint };
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"devices/someone?api-version={IotHubRegistryClient.ApiVersion}");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("IotHubUnauthorizedAccess", response.Headers.GetValues("iothub-errorcode").Single());
    }

    [Fact]
    public async Task A_token_for_another_hub_is_a_401()
    {
        var otherHub = $"HostName=other.azure-devices.net;SharedAccessKeyName={IotHubRegistryStandIn.PolicyName};SharedAccessKey={_standIn.PolicyKey}";

        var error = await Assert.ThrowsAsync<RequestFailedException>(() =>
            Client(otherHub).CreateOrUpdateAsync(MosquittoFixture.UniqueDeviceId("hub"), CancellationToken.None));

        Assert.Equal(401, error.Status);
    }

    [Theory]
    [InlineData("pdm-service")]
    [InlineData("PDM-Devhost")]
    public async Task Platform_ids_are_refused_with_400_and_the_service_account_keeps_working(string deviceId)
    {
        var servicePasswords = await File.ReadAllTextAsync(fixture.Broker.ServicePasswordFile);

        var create = await Assert.ThrowsAsync<RequestFailedException>(() => Client().CreateOrUpdateAsync(deviceId, CancellationToken.None));
        var delete = await Assert.ThrowsAsync<RequestFailedException>(() => Client().DeleteAsync(deviceId, CancellationToken.None));

        Assert.Equal(400, create.Status);
        Assert.Equal("ArgumentInvalid", create.ErrorCode);
        Assert.Contains("platform identity", create.Message, StringComparison.Ordinal);
        Assert.Equal(400, delete.Status);
        Assert.False(fixture.Broker.DeviceRegistry().Contains(deviceId));
        Assert.Equal(servicePasswords, await File.ReadAllTextAsync(fixture.Broker.ServicePasswordFile));
        await (await MqttTestExtensions.ConnectedAsync(fixture.ServiceOptions("after-rest-refusal"))).DisposeAsync();
    }

    [Fact]
    public async Task Body_whose_device_id_is_not_the_urls_is_a_400()
    {
        using var http = new HttpClient { BaseAddress = _standIn.Endpoint };
        using var request = new HttpRequestMessage(HttpMethod.Put, $"devices/mine?api-version={IotHubRegistryClient.ApiVersion}")
        {
            Content = new StringContent("""{"deviceId":"theirs"}""", MediaTypeHeaderValue.Parse("application/json")),
        };
        var expiry = DateTimeOffset.UtcNow.AddMinutes(5);
        request.Headers.TryAddWithoutValidation("Authorization",
            SasToken.Create($"{IotHubRegistryStandIn.HostName}/devices", _standIn.PolicyKey, expiry, IotHubRegistryStandIn.PolicyName));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ArgumentInvalid", response.Headers.GetValues("iothub-errorcode").Single());
        Assert.False(fixture.Broker.DeviceRegistry().Contains("mine"));
    }
}
