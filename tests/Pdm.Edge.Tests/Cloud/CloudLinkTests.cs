using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pdm.Edge.Cloud;
using Pdm.IotHub.IotEdge;
using Pdm.IotHub;
using Pdm.Testing;

namespace Pdm.Edge.Tests.Cloud;

public sealed class CloudLinkTests : IDisposable
{
    private const string HubKey = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=";
    private const string DeviceConnectionString = $"HostName=pdm-hub.azure-devices.net;DeviceId=gateway-01;SharedAccessKey={HubKey}";
    private const string JsonBag = "$.ct=application%2Fjson&$.ce=utf-8";
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-cloud-{Guid.NewGuid():N}"[..24]);
    private readonly FixedTimeProvider _clock = new(Now);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static Func<string, string?> NoVariables => _ => null;

    private static Func<string, string?> EdgeVariables(Uri workloadUri) => name => name switch
    {
        "IOTEDGE_WORKLOADURI" => workloadUri.ToString(),
        "IOTEDGE_IOTHUBHOSTNAME" => "pdm-hub.azure-devices.net",
        "IOTEDGE_GATEWAYHOSTNAME" => "edge-gw.local",
        "IOTEDGE_DEVICEID" => "gateway-01",
        "IOTEDGE_MODULEID" => "pdm",
        "IOTEDGE_MODULEGENERATIONID" => "gen-1",
        "IOTEDGE_APIVERSION" => "2019-11-05",
        "IOTEDGE_AUTHSCHEME" => "sasToken",
        _ => null,
    };

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    [Fact]
    public void Auto_mode_chooses_iot_edge_when_the_runtime_variables_are_set_even_with_other_settings()
    {
        var settings = new CloudSettings { ConnectionString = DeviceConnectionString, LocalDeviceId = "gw", LocalPassword = "p" };

        Assert.True(CloudLink.TryResolveMode(settings, EdgeVariables(new Uri("unix:///var/run/iotedge/workload.sock")), out var mode, out _));
        Assert.Equal(CloudMode.IotEdge, mode);
    }

    [Fact]
    public void Auto_mode_chooses_direct_with_a_connection_string_else_local_with_a_device_id()
    {
        Assert.True(CloudLink.TryResolveMode(new CloudSettings { ConnectionString = DeviceConnectionString, LocalDeviceId = "gw", LocalPassword = "p" },
            NoVariables, out var direct, out _));
        Assert.True(CloudLink.TryResolveMode(new CloudSettings { LocalDeviceId = "gw", LocalPassword = "p" }, NoVariables, out var local, out _));

        Assert.Equal(CloudMode.Direct, direct);
        Assert.Equal(CloudMode.Local, local);
    }

    [Fact]
    public void Auto_mode_without_any_setting_explains_the_three_ways()
    {
        Assert.False(CloudLink.TryResolveMode(new CloudSettings(), NoVariables, out _, out var error));

        Assert.Equal("No cloud connection is configured: run under IoT Edge (IOTEDGE_* variables), or set Cloud__ConnectionString "
            + "(direct to IoT Hub), or Cloud__LocalDeviceId and Cloud__LocalPassword (local Mosquitto); Cloud__Mode picks one explicitly.", error);
    }

    [Fact]
    public void Iot_edge_mode_names_the_missing_runtime_variable()
    {
        var variables = EdgeVariables(new Uri("unix:///var/run/iotedge/workload.sock"));

        Assert.False(CloudLink.TryResolveMode(new CloudSettings(), name => name == "IOTEDGE_MODULEGENERATIONID" ? null : variables(name),
            out _, out var error));

        Assert.StartsWith("Cloud mode IotEdge: IoT Edge environment incomplete: IOTEDGE_MODULEGENERATIONID is not set", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CloudMode.IotEdge, null, null, null, "Cloud mode IotEdge: IoT Edge environment incomplete: IOTEDGE_WORKLOADURI, IOTEDGE_IOTHUBHOSTNAME")]
    [InlineData(CloudMode.Direct, null, null, null, "Cloud mode Direct needs Cloud__ConnectionString (the device's IoT Hub connection string).")]
    [InlineData(CloudMode.Direct, "HostName=pdm-hub.azure-devices.net;DeviceId=gw", null, null, "Cloud__ConnectionString: SharedAccessKey is missing")]
    [InlineData(CloudMode.Direct, $"HostName=pdm-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={HubKey}", null, null,
        "Cloud__ConnectionString is a shared access policy's; direct mode needs a device's (with DeviceId).")]
    [InlineData(CloudMode.Local, null, null, "p", "Cloud mode Local needs Cloud__LocalDeviceId (the device registered with the local stack).")]
    [InlineData(CloudMode.Local, null, "gw:1", "p", "Cloud__LocalDeviceId: device id 'gw:1' is not valid")]
    [InlineData(CloudMode.Local, null, "gw", null, "Cloud mode Local needs Cloud__LocalPassword (the key the local device registry issued for 'gw').")]
    public void Incomplete_settings_for_the_chosen_mode_are_named(CloudMode mode, string? connectionString, string? deviceId, string? password,
        string expected)
    {
        var settings = new CloudSettings { Mode = mode, ConnectionString = connectionString, LocalDeviceId = deviceId, LocalPassword = password };

        Assert.False(CloudLink.TryResolveMode(settings, NoVariables, out _, out var error));

        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_port_outside_the_tcp_range_is_named()
    {
        var settings = new CloudSettings { Mode = CloudMode.Local, LocalDeviceId = "gw", LocalPassword = "p", LocalPort = 70000 };

        Assert.False(CloudLink.TryResolveMode(settings, NoVariables, out _, out var error));

        Assert.Equal("Cloud__LocalPort 70000 is outside 1..65535.", error);
    }

    [Fact]
    public void Token_lifetime_under_a_minute_is_refused()
    {
        var settings = new CloudSettings { ConnectionString = DeviceConnectionString, TokenLifetime = TimeSpan.FromSeconds(30) };

        Assert.False(CloudLink.TryResolveMode(settings, NoVariables, out _, out var error));

        Assert.Equal("Cloud__TokenLifetime 00:00:30 is shorter than 00:01:00.", error);
    }

    [Fact]
    public async Task Incomplete_settings_stop_creation_with_the_precise_error()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            CloudLink.CreateAsync(new CloudSettings { Mode = CloudMode.Local, LocalDeviceId = "gw" }, NoVariables, _directory, _clock, null, Timeout()));

        Assert.StartsWith("Cloud mode Local needs Cloud__LocalPassword", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Direct_device_link_uses_tls_to_the_hub_with_a_locally_signed_token_and_a_twin()
    {
        using var link = await CloudLink.CreateAsync(new CloudSettings { ConnectionString = DeviceConnectionString, TokenLifetime = TimeSpan.FromMinutes(30) },
            NoVariables, _directory, _clock, null, Timeout());

        Assert.Equal(CloudMode.Direct, link.Mode);
        Assert.True(link.TwinAvailable);
        Assert.Equal(("gateway-01", (string?)null), (link.DeviceId, link.ModuleId));
        Assert.Equal($"devices/gateway-01/messages/events/{JsonBag}", link.TelemetryTopic);
        var options = link.MqttOptions;
        Assert.Equal(("pdm-hub.azure-devices.net", 8883, true, (string?)null), (options.Host, options.Port, options.UseTls, options.CaFile));
        Assert.Equal("gateway-01", options.ClientId);
        Assert.Equal("pdm-hub.azure-devices.net/gateway-01/?api-version=2021-04-12", options.Username);
        Assert.Equal(SasToken.Create("pdm-hub.azure-devices.net/devices/gateway-01", HubKey, Now.AddMinutes(30)),
            await options.PasswordProvider!(Timeout()));
    }

    [Fact]
    public async Task Direct_module_connection_string_publishes_on_the_module_events_topic()
    {
        using var link = await CloudLink.CreateAsync(new CloudSettings { Mode = CloudMode.Direct, ConnectionString = DeviceConnectionString + ";ModuleId=pdm" },
            NoVariables, _directory, _clock, null, Timeout());

        Assert.Equal($"devices/gateway-01/modules/pdm/messages/events/{JsonBag}", link.TelemetryTopic);
        Assert.Equal("gateway-01/pdm", link.MqttOptions.ClientId);
        Assert.Equal("pdm", link.ModuleId);
    }

    [Fact]
    public async Task Local_link_connects_to_mosquitto_as_the_device_without_tls_or_twin()
    {
        var settings = new CloudSettings { LocalHost = "127.0.0.1", LocalPort = 18830, LocalDeviceId = "gateway-01", LocalPassword = "device-key" };

        using var link = await CloudLink.CreateAsync(settings, NoVariables, _directory, _clock, null, Timeout());

        Assert.Equal(CloudMode.Local, link.Mode);
        Assert.False(link.TwinAvailable);
        Assert.Equal($"devices/gateway-01/messages/events/{JsonBag}", link.TelemetryTopic);
        var options = link.MqttOptions;
        Assert.Equal(("127.0.0.1", 18830, false), (options.Host, options.Port, options.UseTls));
        Assert.Equal(("gateway-01", "gateway-01", "device-key"), (options.ClientId, options.Username, options.Password));
        Assert.Null(options.PasswordProvider);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Iot_edge_link_trusts_the_workload_bundle_and_signs_module_tokens_through_the_workload_api()
    {
        var moduleKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var bundle = CaBundlePem();
        await using var daemon = FakeWorkloadDaemon.StartUnix(Path.Combine(_directory, "run"), "pdm", "gen-1", moduleKey, bundle);
        var dataDirectory = Path.Combine(_directory, "data");

        using var link = await CloudLink.CreateAsync(new CloudSettings(), EdgeVariables(daemon.Uri), dataDirectory, _clock, null, Timeout());

        Assert.Equal(CloudMode.IotEdge, link.Mode);
        Assert.True(link.TwinAvailable);
        Assert.Equal($"devices/gateway-01/modules/pdm/messages/events/{JsonBag}&$.on=telemetry", link.TelemetryTopic);
        var options = link.MqttOptions;
        Assert.Equal(("edge-gw.local", 8883, true), (options.Host, options.Port, options.UseTls));
        Assert.Equal(Path.Combine(dataDirectory, EdgeTrustBundle.FileName), options.CaFile);
        Assert.Equal(bundle, await File.ReadAllTextAsync(options.CaFile!));
        Assert.Equal("gateway-01/pdm", options.ClientId);
        Assert.Equal("pdm-hub.azure-devices.net/gateway-01/pdm/?api-version=2021-04-12", options.Username);
        Assert.Equal(SasToken.Create("pdm-hub.azure-devices.net/devices/gateway-01/modules/pdm", moduleKey, Now.AddHours(1)),
            await options.PasswordProvider!(Timeout()));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Iot_edge_link_is_not_created_when_the_workload_api_is_unreachable()
    {
        var missing = new Uri($"unix://{Path.Combine(_directory, "absent.sock")}");

        var error = await Assert.ThrowsAsync<WorkloadException>(() =>
            CloudLink.CreateAsync(new CloudSettings(), EdgeVariables(missing), _directory, _clock, null, Timeout()));

        Assert.Contains("did not answer GET /trust-bundle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_text_hides_the_secrets()
    {
        var text = new CloudSettings { ConnectionString = DeviceConnectionString, LocalDeviceId = "gw", LocalPassword = "device-key" }.ToString();

        Assert.DoesNotContain(HubKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("device-key", text, StringComparison.Ordinal);
        Assert.Contains("ConnectionString=***", text, StringComparison.Ordinal);
    }

    private static string CaBundlePem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pdm test edge CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.ExportCertificatePem() + "\n";
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
