using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pdm.LocalStack;
using Pdm.Mqtt;

namespace Pdm.Mqtt.Tests;

/// <summary>
/// TLS as IoT Hub uses it (8883, TLS 1.2, server certificate checked against a CA file), against a Mosquitto TLS
/// listener whose certificate a throwaway CA made for this test signed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MqttTlsTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-mqtt-tls-{Guid.NewGuid():N}"[..28]);
    private readonly int _port = FreePort.Pick();
    private Process? _broker;

    private string CaFile => Path.Combine(_directory, "ca.pem");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=pdm test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));

        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.pem"), server.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        var config = Path.Combine(_directory, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"""
            per_listener_settings false
            listener {_port} 127.0.0.1
            allow_anonymous true
            cafile {CaFile}
            certfile {Path.Combine(_directory, "server.pem")}
            keyfile {Path.Combine(_directory, "server.key")}
            tls_version tlsv1.2
            persistence false
            log_dest file {Path.Combine(_directory, "mosquitto.log")}
            user root

            """);

        _broker = Process.Start(new ProcessStartInfo("/usr/sbin/mosquitto", ["-c", config]));
        await MqttTestExtensions.UntilAsync(PortAccepts, "the TLS listener accepts connections");
    }

    public async Task DisposeAsync()
    {
        if (_broker is { HasExited: false })
        {
            _broker.Kill();
            await _broker.WaitForExitAsync();
        }
        _broker?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Tls_session_with_the_brokers_ca_publishes_and_receives()
    {
        await using var client = await MqttTestExtensions.ConnectedAsync(Options(CaFile));
        await client.SubscribeAsync("devices/tls-1/messages/events/#", 1, CancellationToken.None);

        await client.PublishAsync(new MqttMessage("devices/tls-1/messages/events/", "over tls"u8.ToArray()), CancellationToken.None);

        Assert.Equal("over tls", Encoding.UTF8.GetString((await client.NextAsync()).Payload.Span));
    }

    [Fact]
    public async Task Broker_certificate_unknown_to_the_system_store_is_refused()
    {
        // No CA file: the system store, which does not know the throwaway CA.
        await using var client = MqttNetClient.Create(Options(caFile: null));

        var error = await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.False(client.IsConnected);
        Assert.Null(error.ResultCode); // not a broker refusal: the TLS handshake failed
        Assert.IsType<AuthenticationException>(error.GetBaseException());
    }

    [Fact]
    public async Task Trust_bundle_of_another_ca_is_refused()
    {
        // Only the CA file's certificates are roots, as with the IoT Edge trust bundle; another CA's bundle must fail.
        var otherCa = Path.Combine(_directory, "other-ca.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=another CA", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(otherCa, other.ExportCertificatePem());
        }
        await using var client = MqttNetClient.Create(Options(otherCa));

        var error = await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.IsType<AuthenticationException>(error.GetBaseException());
    }

    [Fact]
    public async Task Ca_file_without_a_certificate_fails_with_its_path()
    {
        var empty = Path.Combine(_directory, "empty.pem");
        await File.WriteAllTextAsync(empty, "");
        await using var client = MqttNetClient.Create(Options(empty));

        var error = await Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.Contains($"The CA file '{empty}' holds no certificate.", error.Message, StringComparison.Ordinal);
    }

    private MqttOptions Options(string? caFile) => new()
    {
        Host = "127.0.0.1",
        Port = _port,
        ClientId = MosquittoFixture.UniqueClientId("tls"),
        UseTls = true,
        CaFile = caFile,
    };

    private bool PortAccepts()
    {
        try
        {
            using var tcp = new TcpClient();
            tcp.Connect(IPAddress.Loopback, _port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
