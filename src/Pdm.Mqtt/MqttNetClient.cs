using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Pdm.Mqtt;

/// <summary>
/// <see cref="IMqttClient"/> on MQTTnet, speaking MQTT 3.1.1 as IoT Hub expects. MQTTnet does one connection; this
/// class adds what a long-lived device session needs on top: reconnects, restored subscriptions, publishes that wait
/// out an outage, and connection-state reports.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ConnectAsync"/> makes one attempt and throws <see cref="MqttException"/> when it fails. After that the
/// client reconnects by itself with <see cref="ReconnectBackoff"/> delays between <see cref="MqttOptions.ReconnectMinDelay"/>
/// and <see cref="MqttOptions.ReconnectMaxDelay"/>, asks <see cref="MqttOptions.PasswordProvider"/> for a fresh
/// password and re-reads <see cref="MqttOptions.CaFile"/> before every attempt, and restores its subscriptions unless
/// the broker kept the session. It counts as connected again (<see cref="IsConnected"/>, waiting publishes released)
/// once the broker has confirmed them.
/// </para>
/// <para>
/// While the connection is down, <see cref="PublishAsync"/> and <see cref="SubscribeAsync"/> wait for it to come back
/// (bounded by the caller's token). A QoS 1 publish whose PUBACK was lost with the connection is sent again on the
/// next session, and its task completes on that PUBACK (at least once, as IoT Hub's QoS 1 is). After
/// <see cref="DisconnectAsync"/> pending publishes fail with <see cref="MqttException"/>.
/// </para>
/// </remarks>
public sealed partial class MqttNetClient : IMqttClient
{
    private static readonly TimeSpan ConnackTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DisconnectGrace = TimeSpan.FromSeconds(5);

    private readonly MqttOptions _options;
    private readonly ILogger _logger;
    private readonly string _endpoint;
    private readonly MQTTnet.IMqttClient _client;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>(
        new UnboundedChannelOptions { SingleWriter = true });
    private TaskCompletionSource<Session> _connectedSignal = NewSignal();
    private Session? _attempt;
    private CancellationTokenSource? _runCts;
    private Task? _runTask;
    private volatile bool _isConnected;
    private bool _lastAttemptRefused; // the run loop's own: a refusal is reported as Refused, not also as Disconnected
    private int _disposed;

    public MqttNetClient(MqttOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Host);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ClientId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ReconnectMinDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReconnectMaxDelay, options.ReconnectMinDelay);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _endpoint = $"{options.Host}:{options.Port}";
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    public static IMqttClient Create(MqttOptions options, ILogger? logger = null) => new MqttNetClient(options, logger);

    public bool IsConnected => _isConnected;

    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        TaskCompletionSource? firstConnect = null;
        lock (_gate)
        {
            if (_runTask is null)
            {
                var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                firstConnect = first;
                if (_connectedSignal.Task.IsCompleted)
                {
                    _connectedSignal = NewSignal();
                }
                _runCts = new CancellationTokenSource();
                var stop = _runCts.Token;
                _runTask = Task.Run(() => RunAsync(first, stop), CancellationToken.None);
            }
        }

        if (firstConnect is null)
        {
            await WaitConnectedAsync(cancellationToken);
            return;
        }

        try
        {
            await firstConnect.Task.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is MqttException or OperationCanceledException)
        {
            await DisconnectAsync(CancellationToken.None);
            throw;
        }
    }

    public async Task SubscribeAsync(string topicFilter, int qos, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicFilter);
        ArgumentOutOfRangeException.ThrowIfNegative(qos);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 1);
        if (MqttTopicFilterRules.Problem(topicFilter) is { } problem)
        {
            throw new MqttException($"Subscribe to '{topicFilter}' failed: {problem}.");
        }
        _subscriptions[topicFilter] = qos;
        while (true)
        {
            var session = await WaitConnectedAsync(cancellationToken);
            MqttClientSubscribeResultCode granted;
            try
            {
                granted = await SubscribeOnceAsync(topicFilter, qos, cancellationToken);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                // The SUBACK was lost with the connection: subscribe again on the next session.
                await AfterFailureAsync(session, cancellationToken);
                continue;
            }
            if (granted > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                _subscriptions.TryRemove(topicFilter, out _);
                throw new MqttException($"Broker {_endpoint} refused the subscription to '{topicFilter}'.") { ResultCode = (int)granted };
            }
            return;
        }
    }

    public async Task PublishAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Qos is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(message), message.Qos, "QoS must be 0 or 1 (IoT Hub closes the connection on QoS 2).");
        }
        var application = new MqttApplicationMessage
        {
            Topic = message.Topic,
            Payload = new(message.Payload),
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)message.Qos,
            Retain = message.Retain,
        };
        try
        {
            MqttTopicValidator.ThrowIfInvalid(application);
        }
        catch (MqttProtocolViolationException ex)
        {
            throw new MqttException($"Publish to '{message.Topic}' failed: {ex.Message}", ex);
        }

        while (true)
        {
            var session = await WaitConnectedAsync(cancellationToken);
            try
            {
                // For QoS 1 MQTTnet completes on the PUBACK.
                await _client.PublishAsync(application, cancellationToken);
                return;
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                await AfterFailureAsync(session, cancellationToken);
            }
        }
    }

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        Task? run;
        CancellationTokenSource? runCts;
        lock (_gate)
        {
            run = _runTask;
            runCts = _runCts;
        }
        if (run is null || runCts is null)
        {
            return;
        }

        // The run loop sends a polite DISCONNECT when it sees the cancellation.
        await runCts.CancelAsync();
        await run.WaitAsync(cancellationToken);

        var stopped = new MqttException($"MQTT client '{_options.ClientId}' was disconnected.");
        lock (_gate)
        {
            _runTask = null;
            _runCts = null;
            _isConnected = false;
            if (_connectedSignal.Task.IsCompleted)
            {
                _connectedSignal = NewSignal();
            }
            _connectedSignal.TrySetException(stopped);
        }
        runCts.Dispose();
        _logger.Disconnected(_options.ClientId, _endpoint);
        Report(MqttConnectionStatus.Disconnected, "disconnected by this client");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await DisconnectAsync(CancellationToken.None);
        _client.Dispose();
        _messages.Writer.TryComplete();
    }

    private async Task RunAsync(TaskCompletionSource firstConnect, CancellationToken stop)
    {
        var connectedBefore = false;
        var attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            string reason;
            try
            {
                var session = await StartSessionAsync(stop);
                attempt = 0;
                if (!connectedBefore)
                {
                    connectedBefore = true;
                    firstConnect.TrySetResult();
                }
                _logger.Connected(_options.ClientId, _endpoint);
                Report(MqttConnectionStatus.Connected, null);
                try
                {
                    reason = await session.Lost.Task.WaitAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    await EndSessionAsync(session);
                    return;
                }
                _logger.ConnectionLost(_options.ClientId, _endpoint, reason);
                Report(MqttConnectionStatus.Disconnected, $"connection to {_endpoint} lost: {reason}");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (MqttException ex)
            {
                if (!_lastAttemptRefused)
                {
                    Report(MqttConnectionStatus.Disconnected, ex.Message);
                }
                if (!connectedBefore)
                {
                    firstConnect.TrySetException(ex);
                    return;
                }
                reason = ex.Message;
            }
            catch (Exception ex) when (!connectedBefore)
            {
                // The password provider failed on the first attempt: that is the caller's error to see.
                firstConnect.TrySetException(ex);
                return;
            }
            catch (Exception ex)
            {
                reason = $"{ex.GetType().Name}: {ex.Message}";
            }

            var delay = ReconnectBackoff.NextDelay(attempt++, _options.ReconnectMinDelay, _options.ReconnectMaxDelay, Random.Shared);
            _logger.ReconnectScheduled(_options.ClientId, _endpoint, reason, delay);
            try
            {
                await Task.Delay(delay, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Connects, waits for the CONNACK and restores the subscriptions; returns the connected session.</summary>
    private async Task<Session> StartSessionAsync(CancellationToken stop)
    {
        var password = _options.PasswordProvider is { } provider ? await provider(stop) : _options.Password;
        var options = BuildOptions(password);
        _lastAttemptRefused = false;
        var session = new Session();
        Volatile.Write(ref _attempt, session);

        MqttClientConnectResult result;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            timeout.CancelAfter(ConnackTimeout);
            try
            {
                result = await _client.ConnectAsync(options, timeout.Token);
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                throw new MqttException($"No CONNACK from {_endpoint} within {ConnackTimeout.TotalSeconds:0} s.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new MqttException($"Connecting to {_endpoint} failed: {Describe(ex)}", ex);
            }
        }
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            var (code, text) = ConnackReturnCode(result.ResultCode);
            _logger.ConnectionRefused(_options.ClientId, _endpoint, text);
            _lastAttemptRefused = true;
            var refused = new MqttException($"Broker {_endpoint} refused the connection: {text}") { ResultCode = code };
            Report(MqttConnectionStatus.Refused, refused.Message);
            throw refused;
        }

        try
        {
            if (!result.IsSessionPresent)
            {
                // The session counts as connected once the broker has confirmed every restored subscription, so a
                // publish waiting for the reconnect cannot overtake them.
                foreach (var (topicFilter, qos) in _subscriptions)
                {
                    var granted = await SubscribeOnceAsync(topicFilter, qos, stop);
                    if (granted > MqttClientSubscribeResultCode.GrantedQoS2)
                    {
                        _logger.ResubscribeFailed(_options.ClientId, topicFilter, $"the broker refused it ({granted})");
                    }
                }
            }
        }
        catch (Exception ex)
        {
            // Lost again while restoring (or stopped): end this session and wait until MQTTnet has reported it, before
            // the next attempt.
            await EndSessionAsync(session);
            if (ex is OperationCanceledException && stop.IsCancellationRequested)
            {
                throw;
            }
            throw new MqttException($"Connection to {_endpoint} lost while restoring subscriptions: {Describe(ex)}", ex);
        }

        lock (_gate)
        {
            _isConnected = true;
            _connectedSignal.TrySetResult(session);
        }
        return session;
    }

    private MqttClientOptions BuildOptions(string? password)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithCleanSession(_options.CleanSession)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
            .WithTimeout(ConnackTimeout);
        if (_options.Username is not null || password is not null)
        {
            builder.WithCredentials(_options.Username, password);
        }
        if (_options.UseTls)
        {
            builder.WithTlsOptions(new MqttClientTlsOptions
            {
                UseTls = true,
                TargetHost = _options.Host,
                SslProtocol = SslProtocols.Tls12 | SslProtocols.Tls13,
                // The CA file (for example the IoT Edge trust bundle) is the only root trusted; without one, the system store.
                TrustChain = _options.CaFile is { } caFile ? LoadCertificates(caFile) : null,
                // Revocation lists are out of reach for an edge gateway on a plant network, and libmosquitto never checked them.
                RevocationMode = X509RevocationMode.NoCheck,
            });
        }
        return builder.Build();
    }

    private static X509Certificate2Collection LoadCertificates(string caFile)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(caFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new MqttException($"Could not read the trusted CA certificates from '{caFile}': {ex.Message}", ex);
        }
        return certificates.Count > 0
            ? certificates
            : throw new MqttException($"The CA file '{caFile}' holds no certificate.");
    }

    private async Task<MqttClientSubscribeResultCode> SubscribeOnceAsync(string topicFilter, int qos, CancellationToken cancellationToken)
    {
        var options = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(topicFilter, (MqttQualityOfServiceLevel)qos)
            .Build();
        var result = await _client.SubscribeAsync(options, cancellationToken);
        return result.Items.Count > 0 ? result.Items.First().ResultCode : MqttClientSubscribeResultCode.UnspecifiedError;
    }

    /// <summary>Sends a polite DISCONNECT when still connected, then waits until MQTTnet has reported the session's end.</summary>
    private async Task EndSessionAsync(Session session)
    {
        if (_client.IsConnected)
        {
            using var grace = new CancellationTokenSource(DisconnectGrace);
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), grace.Token);
            }
            catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException)
            {
                // The connection went away by itself meanwhile; the disconnected event still comes.
            }
        }
        _isConnected = false;
        using var wait = new CancellationTokenSource(DisconnectGrace);
        try
        {
            await session.Lost.Task.WaitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // MQTTnet never reported it: the client was not connected after all.
        }
    }

    /// <summary>After a publish or subscribe failed: wait for the session to be reported lost, unless it is still up (a timeout).</summary>
    private Task AfterFailureAsync(Session session, CancellationToken cancellationToken) =>
        _client.IsConnected && !session.Lost.Task.IsCompleted ? Task.CompletedTask : session.Lost.Task.WaitAsync(cancellationToken);

    private bool IsConnectionFailure(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        MqttCommunicationException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        // MQTTnet 5.2 tears a lost connection's state down under a request that just passed its connected check.
        NullReferenceException or ObjectDisposedException => !_client.IsConnected,
        _ => false,
    };

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs args)
    {
        // MQTTnet reuses its buffers after the handler returns (and then sends the PUBACK): copy the payload now.
        var message = args.ApplicationMessage;
        _messages.Writer.TryWrite(new MqttMessage(message.Topic, message.Payload.ToArray(), (int)message.QualityOfServiceLevel, message.Retain));
        return Task.CompletedTask;
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        // Failed attempts are reported by ConnectAsync itself; only the end of a session that was up matters here.
        if (!args.ClientWasConnected || Volatile.Read(ref _attempt) is not { } session)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            _isConnected = false;
            if (_connectedSignal.Task.IsCompleted && !_connectedSignal.Task.IsFaulted)
            {
                _connectedSignal = NewSignal();
            }
        }
        session.Lost.TrySetResult(args.Exception is { } ex ? Describe(ex) : args.ReasonString ?? args.Reason.ToString());
        return Task.CompletedTask;
    }

    private async Task<Session> WaitConnectedAsync(CancellationToken cancellationToken)
    {
        Task<Session> signal;
        lock (_gate)
        {
            if (_runTask is null)
            {
                throw new MqttException($"MQTT client '{_options.ClientId}' is not connected: call ConnectAsync first.");
            }
            signal = _connectedSignal.Task;
        }
        return await signal.WaitAsync(cancellationToken);
    }

    private void Report(MqttConnectionStatus status, string? reason)
    {
        if (_options.ConnectionChanged is not { } changed)
        {
            return;
        }
        try
        {
            changed(new MqttConnectionState(status, reason, DateTimeOffset.UtcNow));
        }
        catch (Exception ex)
        {
            _logger.CallbackFailed(_options.ClientId, nameof(MqttOptions.ConnectionChanged), ex);
        }
    }

    /// <summary>The innermost reason: MQTTnet wraps socket and TLS errors in its own exceptions.</summary>
    private static string Describe(Exception exception)
    {
        var inner = exception;
        while (inner is MqttCommunicationException { InnerException: { } next })
        {
            inner = next;
        }
        return inner.Message;
    }

    /// <summary>The MQTT 3.1.1 CONNACK return code MQTTnet mapped to its MQTT 5 result, with the reason in words.</summary>
    private static (int Code, string Text) ConnackReturnCode(MqttClientConnectResultCode result) => result switch
    {
        MqttClientConnectResultCode.UnsupportedProtocolVersion => (1, "Connection Refused: unacceptable protocol version."),
        MqttClientConnectResultCode.ClientIdentifierNotValid => (2, "Connection Refused: identifier rejected."),
        MqttClientConnectResultCode.ServerUnavailable => (3, "Connection Refused: broker unavailable."),
        MqttClientConnectResultCode.BadUserNameOrPassword => (4, "Connection Refused: bad user name or password."),
        MqttClientConnectResultCode.NotAuthorized => (5, "Connection Refused: not authorised."),
        _ => ((int)result, $"Connection Refused: {result}."),
    };

    private static TaskCompletionSource<Session> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One connection attempt; <see cref="Lost"/> completes with the reason when a session that was up ends.</summary>
    private sealed class Session
    {
        public TaskCompletionSource<string> Lost { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "MQTT client {ClientId} connected to {Endpoint}")]
    public static partial void Connected(this ILogger logger, string clientId, string endpoint);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "MQTT client {ClientId} lost its connection to {Endpoint}: {Reason}")]
    public static partial void ConnectionLost(this ILogger logger, string clientId, string endpoint, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "MQTT client {ClientId} reconnects to {Endpoint} in {Delay} ({Reason})")]
    public static partial void ReconnectScheduled(this ILogger logger, string clientId, string endpoint, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "MQTT client {ClientId} could not restore its subscription to {TopicFilter}: {Reason}")]
    public static partial void ResubscribeFailed(this ILogger logger, string clientId, string topicFilter, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "MQTT client {ClientId} failed in the {Callback} callback")]
    public static partial void CallbackFailed(this ILogger logger, string clientId, string callback, Exception exception);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "MQTT client {ClientId} disconnected from {Endpoint}")]
    public static partial void Disconnected(this ILogger logger, string clientId, string endpoint);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "MQTT client {ClientId}: broker {Endpoint} refused the connection: {Reason}")]
    public static partial void ConnectionRefused(this ILogger logger, string clientId, string endpoint, string reason);
}
