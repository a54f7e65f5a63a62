using Pdm.IotHub;

namespace Pdm.IotHub.Tests;

public sealed class IotHubConnectionStringTests
{
    private const string Key = "q+DKVojmMz014RjAwpNGZbAkdOocSVWMKPOccLfUmLE=";

    [Fact]
    public void Device_connection_string_is_parsed()
    {
        var parsed = IotHubConnectionString.Parse($"HostName=hub.azure-devices.net;DeviceId=gw-001;SharedAccessKey={Key}");

        Assert.Equal("hub.azure-devices.net", parsed.HostName);
        Assert.Equal("gw-001", parsed.DeviceId);
        Assert.Null(parsed.ModuleId);
        Assert.Equal(Key, parsed.SharedAccessKey);
        Assert.Equal("hub.azure-devices.net/devices/gw-001", parsed.ResourceUri);
    }

    [Fact]
    public void Module_connection_string_with_gateway_is_parsed_and_keys_are_case_insensitive()
    {
        var parsed = IotHubConnectionString.Parse(
            $"hostname=hub.azure-devices.net;DeviceId=gw-001;ModuleId=pdm;SharedAccessKey={Key};GatewayHostName=edge.local;");

        Assert.Equal("pdm", parsed.ModuleId);
        Assert.Equal("edge.local", parsed.GatewayHostName);
        Assert.Equal("hub.azure-devices.net/devices/gw-001/modules/pdm", parsed.ResourceUri);
    }

    [Fact]
    public void Policy_connection_string_is_parsed()
    {
        var parsed = IotHubConnectionString.Parse($"HostName=hub.azure-devices.net;SharedAccessKeyName=registryReadWrite;SharedAccessKey={Key}");

        Assert.Equal("registryReadWrite", parsed.SharedAccessKeyName);
        Assert.Null(parsed.DeviceId);
    }

    [Theory]
    [InlineData("", "The IoT Hub connection string is empty.")]
    [InlineData("HostName=h;DeviceId=d", "SharedAccessKey is missing (connection strings for X.509 identities are not supported).")]
    [InlineData("DeviceId=d;SharedAccessKey=" + Key, "HostName is missing.")]
    [InlineData("HostName=h;SharedAccessKey=" + Key, "DeviceId is missing (or SharedAccessKeyName, for a shared access policy).")]
    [InlineData("HostName=h;DeviceId=d;SharedAccessKey=***", "SharedAccessKey is not valid base64.")]
    [InlineData("HostName=h;DeviceId=;SharedAccessKey=" + Key, "DeviceId is empty.")]
    [InlineData("HostName=h;HostName=i;DeviceId=d;SharedAccessKey=" + Key, "HostName appears more than once.")]
    [InlineData("HostName=h;DeviceId=d;Foo=bar;SharedAccessKey=" + Key, "Unknown key 'Foo' in segment 3; expected HostName, DeviceId, ModuleId, SharedAccessKey, SharedAccessKeyName, GatewayHostName.")]
    [InlineData("HostName=h;justtext;SharedAccessKey=" + Key, "Segment 2 ('justtext') is not Key=Value.")]
    [InlineData("HostName=h;ModuleId=m;SharedAccessKeyName=p;SharedAccessKey=" + Key, "ModuleId is given without DeviceId.")]
    public void Malformed_connection_string_is_rejected_with_precise_reason(string connectionString, string expected)
    {
        Assert.False(IotHubConnectionString.TryParse(connectionString, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.Equal(expected, error);
        Assert.Equal(expected, Assert.Throws<FormatException>(() => IotHubConnectionString.Parse(connectionString)).Message);
    }

    [Fact]
    public void ToString_hides_the_key()
    {
        var parsed = IotHubConnectionString.Parse($"HostName=h;DeviceId=d;SharedAccessKey={Key}");

        Assert.DoesNotContain(Key, parsed.ToString(), StringComparison.Ordinal);
        Assert.Contains("SharedAccessKey=***", parsed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mqtt_options_for_a_module_use_IoT_Hub_user_name_client_id_and_a_fresh_SAS_token()
    {
        var connection = IotHubConnectionString.Parse(
            $"HostName=hub.azure-devices.net;DeviceId=gw-001;ModuleId=pdm;SharedAccessKey={Key};GatewayHostName=edge.local");
        var now = DateTimeOffset.FromUnixTimeSeconds(1700000000);

        var options = IotHubMqtt.Options(connection, TimeSpan.FromHours(1), new FixedTime(now));

        Assert.Equal("edge.local", options.Host);
        Assert.Equal(8883, options.Port);
        Assert.True(options.UseTls);
        Assert.Equal("gw-001/pdm", options.ClientId);
        Assert.Equal("hub.azure-devices.net/gw-001/pdm/?api-version=2021-04-12", options.Username);
        var password = await options.PasswordProvider!(CancellationToken.None);
        Assert.Equal(SasToken.Create("hub.azure-devices.net/devices/gw-001/modules/pdm", Key, now.AddHours(1)), password);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
