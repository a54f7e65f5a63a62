using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.Testing;

/// <summary>A real Mosquitto on a free 127.0.0.1 port with its state in a temp folder, shared by one test collection.</summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException("broker not started");

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), $"pdm-mosquitto-{Guid.NewGuid():N}"[..28]);

    public async Task InitializeAsync()
    {
        _broker = new MosquittoBroker(StateDirectory, FreePort.Pick());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _broker.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
        Directory.Delete(StateDirectory, recursive: true);
    }

    public MosquittoDeviceRegistry Registry() => RegistryFor(Broker);

    public static MosquittoDeviceRegistry RegistryFor(MosquittoBroker broker) => new(new MosquittoDeviceRegistryOptions
    {
        PasswordFile = broker.PasswordFile,
        AclFile = broker.AclFile,
        PidFile = broker.PidFile,
    });

    public MqttOptions ServiceOptions(string clientName) => ServiceOptionsFor(Broker, clientName);

    /// <summary>The service user on the platform's listener, with a client id in the platform's namespace.</summary>
    public static MqttOptions ServiceOptionsFor(MosquittoBroker broker, string clientName) => new()
    {
        Host = "127.0.0.1",
        Port = broker.ServicePort,
        ClientId = MosquittoBroker.PlatformClientId(UniqueClientId(clientName)),
        Username = broker.ServiceUser,
        Password = broker.ServicePassword,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>A device on the device listener, where the broker makes its client id its device id.</summary>
    public MqttOptions DeviceOptions(DeviceIdentity device) => new()
    {
        Host = "127.0.0.1",
        Port = Broker.Port,
        ClientId = device.DeviceId,
        Username = device.DeviceId,
        Password = device.PrimaryKey,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };

    public static string UniqueClientId(string name) => $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 9, 64)];

    public static string UniqueDeviceId(string name) => UniqueClientId(name);
}
