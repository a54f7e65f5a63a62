using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Pdm.Functions.Tests;

/// <summary>
/// Device registration through the real API cannot reach the platform's own broker identities, and ids follow IoT
/// Hub's rules; the dev host keeps receiving telemetry whatever was tried.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DeviceIdentityTests(PipelineFixture pipeline)
{
    public static TheoryData<string, string> RefusedIds => new()
    {
        { "pdm-service", "reserved" },
        { "pdm-devhost", "reserved" },
        { PipelineFixture.DevHostClientId, "reserved" },
        { "PDM-Service", "reserved" },
        { "$edgeHub", "not valid" },
        { new string('g', 129), "129 characters" },
        { "gw:1", "not valid" },
        { "gw 1", "not valid" },
        { "gw/1", "not valid" },
        { "gw#", "not valid" },
        { "gw\nuser x", "not valid" },
    };

    [Theory]
    [MemberData(nameof(RefusedIds))]
    public async Task Registering_a_reserved_or_malformed_device_id_is_a_400_naming_deviceId(string deviceId, string why)
    {
        var tenant = await pipeline.CreateTenantAsync("ids");
        using var api = pipeline.Api(await ProvisionerKeyAsync(tenant));

        var response = await api.PostAsJsonAsync("api/v1/devices", new { deviceId });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        var reason = problem.RootElement.GetProperty("errors").GetProperty("deviceId")[0].GetString();
        Assert.Contains(why, reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registering_the_service_accounts_id_changes_nothing_and_the_dev_host_keeps_receiving()
    {
        var lossesBefore = pipeline.Host.Stats.BrokerConnectionLosses;
        var servicePasswords = await File.ReadAllTextAsync(pipeline.Servers.Mosquitto.ServicePasswordFile);
        var devicePasswords = await File.ReadAllTextAsync(pipeline.Endpoints.MosquittoPasswordFile);
        var tenant = await pipeline.CreateTenantAsync("takeover");
        using var api = pipeline.Api(await ProvisionerKeyAsync(tenant));

        var response = await api.PostAsJsonAsync("api/v1/devices", new { deviceId = pipeline.Endpoints.MqttServiceUser });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(servicePasswords, await File.ReadAllTextAsync(pipeline.Servers.Mosquitto.ServicePasswordFile));
        Assert.Equal(devicePasswords, await File.ReadAllTextAsync(pipeline.Endpoints.MosquittoPasswordFile));
        var deviceId = PipelineTraffic.NewDeviceId("after");
        var (_, key) = await pipeline.RegisterAsync(tenant, deviceId);
        await using var device = await PipelineTraffic.ConnectAsync(pipeline.DeviceOptions(deviceId, key));
        var start = PipelineTraffic.Now();
        await device.PublishAsync(deviceId, PipelineTraffic.Telemetry("AFTER_M", start, 1, 42));
        Assert.Equal(1, await pipeline.WaitForReadingsAsync(tenant, "AFTER_M", 1, start));
        pipeline.AssertDevHostStillConnected(lossesBefore);
    }

    private async Task<string> ProvisionerKeyAsync(TestTenant tenant)
    {
        using var admin = pipeline.Api(tenant.Key);
        var key = await PipelineFixture.ReadAsync<KeyDto>(await admin.PostAsJsonAsync($"api/v1/tenants/{tenant.Id}/api-keys",
            new { name = "provisioner", role = "operator" }));
        return key.Key;
    }
}
