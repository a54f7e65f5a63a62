using System.Threading.Channels;

namespace Pdm.Mqtt;

/// <summary>A message received from (or to be sent to) an MQTT broker.</summary>
public sealed record MqttMessage(string Topic, ReadOnlyMemory<byte> Payload, int Qos = 1, bool Retain = false);

/// <summary>Connection settings for one MQTT client session.</summary>
public sealed record MqttOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = 8883;
    public required string ClientId { get; init; }
    public string? Username { get; init; }
    /// <summary>A fixed password, or null when <see cref="PasswordProvider"/> supplies one (for example a SAS token).</summary>
    public string? Password { get; init; }
    /// <summary>Called before every (re)connect; lets SAS tokens be renewed before they expire.</summary>
    public Func<CancellationToken, ValueTask<string>>? PasswordProvider { get; init; }
    public bool UseTls { get; init; }
    /// <summary>PEM file of trusted CA certificates (TLS only); null means the system trust store.</summary>
    public string? CaFile { get; init; }
    public int KeepAliveSeconds { get; init; } = 60;
    public bool CleanSession { get; init; } = true;
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// Called on the client's own thread whenever the session connects, is refused by the broker, or is lost, so a
    /// host can show that it is cut off rather than look idle. Must return quickly and not throw.
    /// </summary>
    public Action<MqttConnectionState>? ConnectionChanged { get; init; }
}

public enum MqttConnectionStatus
{
    /// <summary>No attempt finished yet.</summary>
    Connecting,
    Connected,
    /// <summary>The broker answered and said no (bad credentials, not authorised, client id rejected): retrying will not help by itself.</summary>
    Refused,
    /// <summary>The connection dropped or the broker could not be reached; the client keeps retrying.</summary>
    Disconnected,
}

/// <summary>Where a client session stands, with the broker's or the network's reason when it is not connected.</summary>
public sealed record MqttConnectionState(MqttConnectionStatus Status, string? Reason, DateTimeOffset Since);

/// <summary>
/// An MQTT 3.1.1 client session. Implementations reconnect on their own with backoff and restore
/// subscriptions after a reconnect.
/// </summary>
public interface IMqttClient : IAsyncDisposable
{
    bool IsConnected { get; }

    /// <summary>Messages for this session's subscriptions, in arrival order.</summary>
    ChannelReader<MqttMessage> Messages { get; }

    /// <summary>Connects and waits for the broker's CONNACK; throws <see cref="MqttException"/> when refused.</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Subscribes and waits for the SUBACK.</summary>
    Task SubscribeAsync(string topicFilter, int qos, CancellationToken cancellationToken);

    /// <summary>Publishes; with QoS 1 the task completes only when the broker has acknowledged (PUBACK).</summary>
    Task PublishAsync(MqttMessage message, CancellationToken cancellationToken);

    Task DisconnectAsync(CancellationToken cancellationToken);
}

/// <summary>A refused connection, a failed publish or subscribe, with the broker's or the library's reason.</summary>
public sealed class MqttException : Exception
{
    public MqttException() { }
    public MqttException(string message) : base(message) { }
    public MqttException(string message, Exception innerException) : base(message, innerException) { }
    public int? ResultCode { get; init; }
}
