using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Messaging.Mqtt;

/// <summary>
/// MQTT 3.1.1 client over Debian's libmosquitto1. One dedicated thread per connection runs the library's network
/// loop; publishes and subscribes from any thread are handed to the library, which wakes that thread.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ConnectAsync"/> makes one attempt and throws <see cref="MqttException"/> when it fails. After that the
/// client reconnects by itself with <see cref="ReconnectBackoff"/> delays between <see cref="MqttOptions.ReconnectMinDelay"/>
/// and <see cref="MqttOptions.ReconnectMaxDelay"/>, asks <see cref="MqttOptions.PasswordProvider"/> for a fresh
/// password before every attempt, and restores its subscriptions unless the broker kept the session. It counts as
/// connected again (<see cref="IsConnected"/>, waiting publishes released) once the broker has confirmed them.
/// </para>
/// <para>
/// While the connection is down, <see cref="PublishAsync"/> and <see cref="SubscribeAsync"/> wait for it to come back
/// (bounded by the caller's token). A QoS 1 message already handed to the library when the connection dropped is sent
/// again after the reconnect and its task completes on that PUBACK. Cancelling a publish stops the wait, not the
/// delivery. After <see cref="DisconnectAsync"/> pending publishes fail with <see cref="MqttException"/>.
/// </para>
/// </remarks>
public sealed partial class MosquittoClient : IMqttClient
{
    /// <summary>Debian's bundle of the system's trusted CA certificates, used for TLS when no CA file is given.</summary>
    public const string SystemCaFile = "/etc/ssl/certs/ca-certificates.crt";

    /// <summary>QoS 1 messages the library keeps in flight before it queues further ones locally.</summary>
    public const int MaxInflightMessages = 1000;

    private static readonly int LibraryInit = LibMosquitto.LibInit();
    private static readonly TimeSpan ConnackTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DisconnectGrace = TimeSpan.FromSeconds(5);
    private const int LoopTimeoutMilliseconds = 100;
    private const int SubscribeAgain = -1;

    private readonly MqttOptions _options;
    private readonly ILogger _logger;
    private readonly string _endpoint;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource> _pendingPublishes = [];
    private readonly Dictionary<int, TaskCompletionSource<int>> _pendingSubscribes = [];
    private readonly Dictionary<int, string> _restoringSubscriptions = [];
    private readonly ConcurrentDictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>(
        new UnboundedChannelOptions { SingleWriter = true });
    private GCHandle _self;
    private IntPtr _handle;
    private TaskCompletionSource _connectedSignal = NewSignal();
    private TaskCompletionSource<int>? _connack;
    private CancellationTokenSource? _runCts;
    private Task? _runTask;
    private volatile bool _isConnected;
    private volatile bool _stopLoop;
    private bool _lastAttemptRefused;
    private int _disposed;

    public MosquittoClient(MqttOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Host);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ClientId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ReconnectMinDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReconnectMaxDelay, options.ReconnectMinDelay);
        if (LibraryInit != LibMosquitto.ErrSuccess)
        {
            throw new MqttException($"libmosquitto failed to initialise: {LibMosquitto.ErrorText(LibraryInit)}") { ResultCode = LibraryInit };
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _endpoint = $"{options.Host}:{options.Port}";
        _self = GCHandle.Alloc(this);
        _handle = LibMosquitto.New(options.ClientId, options.CleanSession, GCHandle.ToIntPtr(_self));
        if (_handle == IntPtr.Zero)
        {
            _self.Free();
            throw new MqttException($"libmosquitto could not create a client for '{options.ClientId}'.");
        }

        try
        {
            Configure();
        }
        catch
        {
            LibMosquitto.Destroy(_handle);
            _self.Free();
            throw;
        }
    }

    public static IMqttClient Create(MqttOptions options, ILogger? logger = null) => new MosquittoClient(options, logger);

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
        _subscriptions[topicFilter] = qos;
        while (true)
        {
            await WaitConnectedAsync(cancellationToken);
            TaskCompletionSource<int>? suback = null;
            int rc;
            lock (_gate)
            {
                rc = LibMosquitto.Subscribe(_handle, out var mid, topicFilter, qos);
                if (rc == LibMosquitto.ErrSuccess)
                {
                    suback = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _pendingSubscribes[mid] = suback;
                }
            }

            if (rc == LibMosquitto.ErrNoConn)
            {
                // The connection dropped under us; the disconnect callback is about to reset the signal.
                await Task.Delay(10, cancellationToken);
                continue;
            }
            if (suback is null)
            {
                _subscriptions.TryRemove(topicFilter, out _);
                throw new MqttException($"Subscribe to '{topicFilter}' failed: {LibMosquitto.ErrorText(rc)}") { ResultCode = rc };
            }

            var granted = await suback.Task.WaitAsync(cancellationToken);
            if (granted == SubscribeAgain)
            {
                continue;
            }
            if (granted == LibMosquitto.SubackFailure)
            {
                _subscriptions.TryRemove(topicFilter, out _);
                throw new MqttException($"Broker {_endpoint} refused the subscription to '{topicFilter}'.") { ResultCode = granted };
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

        while (true)
        {
            await WaitConnectedAsync(cancellationToken);
            TaskCompletionSource? puback = null;
            int rc;
            lock (_gate)
            {
                // Registered under the same lock the publish callback takes, so a fast PUBACK cannot be missed.
                rc = PublishNative(message, out var mid);
                if (message.Qos == 1 && rc is LibMosquitto.ErrSuccess or LibMosquitto.ErrNoConn)
                {
                    // On ErrNoConn the library has still queued a QoS 1 message; it goes out after the reconnect.
                    puback = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _pendingPublishes[mid] = puback;
                }
            }

            if (puback is not null)
            {
                await puback.Task.WaitAsync(cancellationToken);
                return;
            }
            if (rc == LibMosquitto.ErrSuccess)
            {
                return;
            }
            if (rc == LibMosquitto.ErrNoConn)
            {
                await Task.Delay(10, cancellationToken);
                continue;
            }
            throw new MqttException($"Publish to '{message.Topic}' failed: {LibMosquitto.ErrorText(rc)}") { ResultCode = rc };
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

        // Queue a polite DISCONNECT first; the loop thread flushes it before the session ends.
        _ = LibMosquitto.Disconnect(_handle); // ErrNoConn while reconnecting is fine: the run loop just stops
        await runCts.CancelAsync();
        await run.WaitAsync(cancellationToken);

        var stopped = new MqttException($"MQTT client '{_options.ClientId}' was disconnected.");
        lock (_gate)
        {
            _runTask = null;
            _runCts = null;
            _isConnected = false;
            _connectedSignal.TrySetException(stopped);
            foreach (var pending in _pendingPublishes.Values)
            {
                pending.TrySetException(stopped);
            }
            _pendingPublishes.Clear();
            foreach (var pending in _pendingSubscribes.Values)
            {
                pending.TrySetException(stopped);
            }
            _pendingSubscribes.Clear();
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
        LibMosquitto.Destroy(_handle);
        _handle = IntPtr.Zero;
        _self.Free();
        _messages.Writer.TryComplete();
    }

    private unsafe void Configure()
    {
        Check(LibMosquitto.IntOption(_handle, LibMosquitto.OptProtocolVersion, LibMosquitto.ProtocolV311), "select MQTT 3.1.1");
        Check(LibMosquitto.IntOption(_handle, LibMosquitto.OptTcpNoDelay, 1), "set TCP_NODELAY");
        Check(LibMosquitto.MaxInflightMessagesSet(_handle, MaxInflightMessages), "set the in-flight window");
        // We run the network loop on our own thread; the library then only queues and wakes it.
        Check(LibMosquitto.ThreadedSet(_handle, true), "enable threaded mode");
        if (_options.UseTls)
        {
            var caFile = _options.CaFile ?? SystemCaFile;
            Check(LibMosquitto.TlsSet(_handle, caFile, null, null, null, IntPtr.Zero), $"use CA file '{caFile}' for TLS");
            Check(LibMosquitto.TlsOptsSet(_handle, LibMosquitto.SslVerifyPeer, "tlsv1.2", null), "require TLS 1.2");
        }

        LibMosquitto.ConnectWithFlagsCallbackSet(_handle, &OnConnect);
        LibMosquitto.DisconnectCallbackSet(_handle, &OnDisconnect);
        LibMosquitto.PublishCallbackSet(_handle, &OnPublish);
        LibMosquitto.SubscribeCallbackSet(_handle, &OnSubscribe);
        LibMosquitto.MessageCallbackSet(_handle, &OnMessage);

        static void Check(int rc, string what)
        {
            if (rc != LibMosquitto.ErrSuccess)
            {
                throw new MqttException($"libmosquitto could not {what}: {LibMosquitto.ErrorText(rc)}") { ResultCode = rc };
            }
        }
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
                var loop = await StartSessionAsync(stop);
                attempt = 0;
                if (!connectedBefore)
                {
                    connectedBefore = true;
                    firstConnect.TrySetResult();
                }
                _logger.Connected(_options.ClientId, _endpoint);
                Report(MqttConnectionStatus.Connected, null);

                LoopExit exit;
                try
                {
                    exit = await loop.WaitAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    await EndLoopAsync(loop, DisconnectGrace);
                    return;
                }
                reason = exit.Reason;
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

    /// <summary>Connects, starts the loop thread and waits for the CONNACK; returns the running loop.</summary>
    private async Task<Task<LoopExit>> StartSessionAsync(CancellationToken stop)
    {
        _lastAttemptRefused = false;
        var password = _options.PasswordProvider is { } provider ? await provider(stop) : _options.Password;
        var rc = LibMosquitto.UsernamePwSet(_handle, _options.Username, password);
        if (rc != LibMosquitto.ErrSuccess)
        {
            throw new MqttException($"libmosquitto rejected the credentials: {LibMosquitto.ErrorText(rc)}") { ResultCode = rc };
        }

        var connack = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _connack, connack);
        rc = LibMosquitto.ConnectAsync(_handle, _options.Host, _options.Port, _options.KeepAliveSeconds);
        if (rc != LibMosquitto.ErrSuccess)
        {
            throw new MqttException($"Connecting to {_endpoint} failed: {ErrorReason(rc)}") { ResultCode = rc };
        }

        var loop = StartLoop();
        MqttException failure;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(ConnackTimeout);
        try
        {
            await Task.WhenAny(connack.Task, loop).WaitAsync(timeout.Token);
            if (connack.Task.IsCompletedSuccessfully)
            {
                var code = await connack.Task;
                if (code == 0)
                {
                    return loop;
                }
                failure = new MqttException($"Broker {_endpoint} refused the connection: {LibMosquitto.ConnackText(code)}") { ResultCode = code };
                _lastAttemptRefused = true;
                _logger.ConnectionRefused(_options.ClientId, _endpoint, LibMosquitto.ConnackText(code));
                Report(MqttConnectionStatus.Refused, failure.Message);
            }
            else
            {
                var exit = await loop;
                failure = new MqttException($"Connection to {_endpoint} failed before CONNACK: {exit.Reason}") { ResultCode = exit.Code };
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            failure = new MqttException($"No CONNACK from {_endpoint} within {ConnackTimeout.TotalSeconds:0} s.");
        }
        catch (OperationCanceledException)
        {
            await EndLoopAsync(loop, TimeSpan.Zero);
            throw;
        }
        await EndLoopAsync(loop, TimeSpan.Zero);
        throw failure;
    }

    private Task<LoopExit> StartLoop()
    {
        _stopLoop = false;
        var exited = new TaskCompletionSource<LoopExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                exited.TrySetResult(RunLoop());
            }
            catch (Exception ex)
            {
                exited.TrySetResult(new LoopExit(-1, $"{ex.GetType().Name}: {ex.Message}"));
            }
        })
        {
            IsBackground = true,
            Name = $"mqtt {_options.ClientId}",
        };
        thread.Start();
        return exited.Task;
    }

    private LoopExit RunLoop()
    {
        while (!_stopLoop)
        {
            var rc = LibMosquitto.Loop(_handle, LoopTimeoutMilliseconds, 1);
            if (rc != LibMosquitto.ErrSuccess)
            {
                return new LoopExit(rc, ErrorReason(rc));
            }
        }
        return new LoopExit(LibMosquitto.ErrSuccess, "stopped");
    }

    /// <summary>Lets the loop thread flush what is queued (a DISCONNECT) for up to <paramref name="grace"/>, then stops it.</summary>
    private async Task EndLoopAsync(Task<LoopExit> loop, TimeSpan grace)
    {
        if (grace > TimeSpan.Zero)
        {
            await Task.WhenAny(loop, Task.Delay(grace, CancellationToken.None));
        }
        _stopLoop = true;
        await loop;
        _isConnected = false;
    }

    private unsafe int PublishNative(MqttMessage message, out int mid)
    {
        fixed (byte* payload = message.Payload.Span)
        {
            return LibMosquitto.Publish(_handle, out mid, message.Topic, message.Payload.Length, payload, message.Qos, message.Retain);
        }
    }

    private Task WaitConnectedAsync(CancellationToken cancellationToken)
    {
        if (_isConnected)
        {
            return Task.CompletedTask;
        }
        Task signal;
        lock (_gate)
        {
            if (_runTask is null)
            {
                throw new MqttException($"MQTT client '{_options.ClientId}' is not connected: call ConnectAsync first.");
            }
            signal = _connectedSignal.Task;
        }
        return signal.WaitAsync(cancellationToken);
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
            CallbackFailed(nameof(MqttOptions.ConnectionChanged), ex);
        }
    }

    private static string ErrorReason(int rc) =>
        rc == LibMosquitto.ErrErrno ? Marshal.GetLastPInvokeErrorMessage() : LibMosquitto.ErrorText(rc);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static MosquittoClient? FromUserData(IntPtr userData) =>
        userData == IntPtr.Zero ? null : GCHandle.FromIntPtr(userData).Target as MosquittoClient;

    // The callbacks below run on the loop thread. An exception escaping an UnmanagedCallersOnly method ends the
    // process, so each one catches everything and logs it.

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnect(IntPtr mosq, IntPtr userData, int rc, int flags)
    {
        var client = FromUserData(userData);
        try
        {
            client?.HandleConnect(rc, sessionPresent: (flags & 1) != 0);
        }
        catch (Exception ex)
        {
            client?.CallbackFailed(nameof(OnConnect), ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDisconnect(IntPtr mosq, IntPtr userData, int rc)
    {
        var client = FromUserData(userData);
        try
        {
            client?.HandleDisconnect();
        }
        catch (Exception ex)
        {
            client?.CallbackFailed(nameof(OnDisconnect), ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPublish(IntPtr mosq, IntPtr userData, int mid)
    {
        var client = FromUserData(userData);
        try
        {
            client?.HandlePublished(mid);
        }
        catch (Exception ex)
        {
            client?.CallbackFailed(nameof(OnPublish), ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnSubscribe(IntPtr mosq, IntPtr userData, int mid, int count, int* grantedQos)
    {
        var client = FromUserData(userData);
        try
        {
            client?.HandleSubscribed(mid, count > 0 ? grantedQos[0] : LibMosquitto.SubackFailure);
        }
        catch (Exception ex)
        {
            client?.CallbackFailed(nameof(OnSubscribe), ex);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnMessage(IntPtr mosq, IntPtr userData, LibMosquitto.Message* message)
    {
        var client = FromUserData(userData);
        try
        {
            // The library frees topic and payload after the callback returns: copy both now.
            var topic = Marshal.PtrToStringUTF8((IntPtr)message->Topic) ?? "";
            var payload = new ReadOnlySpan<byte>(message->Payload, message->PayloadLength).ToArray();
            client?._messages.Writer.TryWrite(new MqttMessage(topic, payload, message->Qos, message->Retain));
        }
        catch (Exception ex)
        {
            client?.CallbackFailed(nameof(OnMessage), ex);
        }
    }

    private void HandleConnect(int rc, bool sessionPresent)
    {
        if (rc == 0)
        {
            var ready = true;
            lock (_gate)
            {
                _restoringSubscriptions.Clear();
                if (!sessionPresent)
                {
                    // The session counts as connected once the broker has confirmed every restored subscription,
                    // so a publish waiting for the reconnect cannot overtake them.
                    foreach (var (topicFilter, qos) in _subscriptions)
                    {
                        var subscribed = LibMosquitto.Subscribe(_handle, out var mid, topicFilter, qos);
                        if (subscribed == LibMosquitto.ErrSuccess)
                        {
                            _restoringSubscriptions[mid] = topicFilter;
                        }
                        else
                        {
                            _logger.ResubscribeFailed(_options.ClientId, topicFilter, LibMosquitto.ErrorText(subscribed));
                        }
                    }
                }
                ready = _restoringSubscriptions.Count == 0;
            }
            if (ready)
            {
                MarkConnected();
            }
        }
        Volatile.Read(ref _connack)?.TrySetResult(rc);
    }

    private void MarkConnected()
    {
        _isConnected = true;
        lock (_gate)
        {
            _connectedSignal.TrySetResult();
        }
    }

    private void HandleDisconnect()
    {
        _isConnected = false;
        lock (_gate)
        {
            if (_connectedSignal.Task.IsCompleted)
            {
                _connectedSignal = NewSignal();
            }
            _restoringSubscriptions.Clear();
            // A SUBACK lost with the connection never comes; those callers subscribe again on the next session.
            foreach (var pending in _pendingSubscribes.Values)
            {
                pending.TrySetResult(SubscribeAgain);
            }
            _pendingSubscribes.Clear();
        }
    }

    private void HandlePublished(int mid)
    {
        TaskCompletionSource? pending;
        lock (_gate)
        {
            _pendingPublishes.Remove(mid, out pending);
        }
        pending?.TrySetResult();
    }

    private void HandleSubscribed(int mid, int grantedQos)
    {
        TaskCompletionSource<int>? pending;
        var restored = false;
        lock (_gate)
        {
            if (_restoringSubscriptions.Remove(mid, out var topicFilter))
            {
                if (grantedQos == LibMosquitto.SubackFailure)
                {
                    _logger.ResubscribeFailed(_options.ClientId, topicFilter, "the broker refused it");
                }
                restored = _restoringSubscriptions.Count == 0;
            }
            _pendingSubscribes.Remove(mid, out pending);
        }
        pending?.TrySetResult(grantedQos);
        if (restored)
        {
            MarkConnected();
        }
    }

    private void CallbackFailed(string callback, Exception exception)
    {
        try
        {
            _logger.CallbackFailed(_options.ClientId, callback, exception);
        }
        catch (Exception)
        {
            // Nothing may escape a native callback, not even a failing logger.
        }
    }

    private readonly record struct LoopExit(int Code, string Reason);
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
