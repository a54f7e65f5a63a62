using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>What a device simulator has had acknowledged by the broker so far.</summary>
/// <param name="MessagesSent">All messages, well-formed or not.</param>
/// <param name="SamplesSent">Machine samples in well-formed messages.</param>
/// <param name="ValuesSent">Sensor values in well-formed messages.</param>
/// <param name="MalformedSent">Messages spoiled on purpose (see <see cref="MalformedKind"/>).</param>
public readonly record struct DeviceSimulatorCounters(long MessagesSent, long SamplesSent, long ValuesSent, long MalformedSent);

/// <summary>One message of a device simulator: the samples it was built from and the body actually sent.</summary>
public sealed record SimulatedMessage
{
    /// <summary>0 for the first message the simulator built, then 1, 2, ...</summary>
    public required long Index { get; init; }
    public required DateTimeOffset SimulatedTime { get; init; }
    public required IReadOnlyList<MachineSample> Samples { get; init; }
    public required ReadOnlyMemory<byte> Body { get; init; }
    /// <summary>How the body was spoiled on purpose; null for a well-formed v1 message.</summary>
    public MalformedKind? Malformed { get; init; }
    /// <summary>Index in <see cref="Samples"/> of the spoiled machine entry (not set for invalid JSON).</summary>
    public int? MalformedMachineIndex { get; init; }
    public int ValueCount => Samples.Sum(s => s.Values.Count);
}

public sealed class MessagePublishedEventArgs(SimulatedMessage message) : EventArgs
{
    public SimulatedMessage Message { get; } = message;
}

/// <summary>
/// A gateway in front of a simulated fleet: every tick it sends ONE telemetry v1 message holding a sample of every
/// machine to the device's IoT Hub events topic with QoS 1. The MQTT client is the caller's, already connected.
/// </summary>
public sealed class DeviceSimulator
{
    private static readonly MalformedKind[] MalformedKinds = Enum.GetValues<MalformedKind>();

    // Marks the body as UTF-8 JSON so IoT Hub routing queries can read it.
    private static readonly Dictionary<string, string> JsonBodyProperties = new(StringComparer.Ordinal)
    {
        [IotHubSystemProperties.ContentType] = "application/json",
        [IotHubSystemProperties.ContentEncoding] = "utf-8",
    };

    private readonly IMqttClient _client;
    private readonly FleetSimulator _fleet;
    private readonly DeviceSimulatorOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Random _malformedRandom;
    private readonly Lock _createLock = new();
    private DateTimeOffset? _start;
    private long _created;
    private long _messagesSent;
    private long _samplesSent;
    private long _valuesSent;
    private long _malformedSent;
    private int _running;

    public DeviceSimulator(
        IMqttClient client,
        FleetSimulator fleet,
        DeviceSimulatorOptions options,
        TimeProvider? timeProvider = null,
        ILogger<DeviceSimulator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        if (fleet.Machines.Count == 0)
        {
            throw new ArgumentException("The fleet has no machines.", nameof(fleet));
        }
        _client = client;
        _fleet = fleet;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<DeviceSimulator>.Instance;
        _malformedRandom = new Random(options.MalformedSeed);
        Topic = IotHubTopics.DeviceEvents(options.DeviceId, JsonBodyProperties);
    }

    /// <summary>The IoT Hub device-to-cloud topic every message goes to.</summary>
    public string Topic { get; }

    public DeviceSimulatorCounters Counters => new(
        Interlocked.Read(ref _messagesSent),
        Interlocked.Read(ref _samplesSent),
        Interlocked.Read(ref _valuesSent),
        Interlocked.Read(ref _malformedSent));

    /// <summary>Raised after the broker acknowledged a message; in burst mode from several threads at once.</summary>
    public event EventHandler<MessagePublishedEventArgs>? MessagePublished;

    /// <summary>
    /// Sends until <see cref="DeviceSimulatorOptions.MessageLimit"/> messages are sent or
    /// <paramref name="cancellationToken"/> is cancelled (a normal end). A failed publish ends the run with its exception.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("This device simulator is already running.");
        }
        try
        {
            _logger.DeviceSimulatorStarted(_options.DeviceId, _fleet.Machines.Count, _options.Burst);
            if (_options.Burst)
            {
                await RunBurstAsync(cancellationToken);
            }
            else
            {
                await RunPacedAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Asked to stop: the normal end of an unlimited run.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
        var counters = Counters;
        _logger.DeviceSimulatorStopped(_options.DeviceId, counters.MessagesSent, counters.MalformedSent);
    }

    /// <summary>
    /// Builds the next message (advancing the fleet and the simulated clock) without sending it. RunAsync builds its
    /// messages through this too, so a message taken here is not sent by it.
    /// </summary>
    public SimulatedMessage CreateNextMessage()
    {
        lock (_createLock)
        {
            return CreateNext();
        }
    }

    private bool TryCreateNext([NotNullWhen(true)] out SimulatedMessage? message)
    {
        lock (_createLock)
        {
            if (_options.MessageLimit is { } limit && _created >= limit)
            {
                message = null;
                return false;
            }
            message = CreateNext();
            return true;
        }
    }

    private bool HasMore => _options.MessageLimit is not { } limit || Interlocked.Read(ref _created) < limit;

    private SimulatedMessage CreateNext()
    {
        // Whole milliseconds, as the v1 body carries them, so Samples and Body agree.
        _start ??= TruncateToMilliseconds(_options.Start ?? DefaultStart());
        var index = _created;
        var time = _start.Value + TimeSpan.FromTicks(_options.Interval.Ticks * index);
        var samples = _fleet.Tick(time);
        Interlocked.Increment(ref _created);
        if (_options.MalformedRate > 0 && _malformedRandom.NextDouble() < _options.MalformedRate)
        {
            var kind = MalformedKinds[_malformedRandom.Next(MalformedKinds.Length)];
            var machineIndex = _malformedRandom.Next(samples.Count);
            return new SimulatedMessage
            {
                Index = index,
                SimulatedTime = time,
                Samples = samples,
                Body = MalformedMessages.Create(samples, kind, machineIndex, _options.GatewayId),
                Malformed = kind,
                MalformedMachineIndex = kind == MalformedKind.InvalidJson ? null : machineIndex,
            };
        }
        return new SimulatedMessage
        {
            Index = index,
            SimulatedTime = time,
            Samples = samples,
            Body = TelemetryEncoder.Encode(samples, _options.GatewayId),
        };
    }

    private async Task RunPacedAsync(CancellationToken cancellationToken)
    {
        // PeriodicTimer needs at least a millisecond; faster than that is what burst mode is for.
        var period = TimeSpan.FromMilliseconds(Math.Max(1, _options.Interval.TotalMilliseconds / _options.SpeedUp));
        using var timer = new PeriodicTimer(period, _timeProvider);
        while (TryCreateNext(out var message))
        {
            await PublishAsync(message, cancellationToken);
            if (HasMore)
            {
                await timer.WaitForNextTickAsync(cancellationToken);
            }
        }
    }

    private async Task RunBurstAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = new Task[_options.MaxInFlight];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = BurstWorkerAsync(stop);
        }
        await Task.WhenAll(workers);
    }

    // Each worker has at most one publish awaiting its PUBACK, so MaxInFlight workers bound what is in flight.
    private async Task BurstWorkerAsync(CancellationTokenSource stop)
    {
        await Task.Yield();
        try
        {
            while (!stop.IsCancellationRequested && TryCreateNext(out var message))
            {
                await PublishAsync(message, stop.Token);
            }
            stop.Token.ThrowIfCancellationRequested();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // One failed publish ends the run: stop the other workers rather than carry on around the gap.
            await stop.CancelAsync();
            throw;
        }
    }

    private async Task PublishAsync(SimulatedMessage message, CancellationToken cancellationToken)
    {
        await _client.PublishAsync(new MqttMessage(Topic, message.Body, Qos: 1), cancellationToken);
        Interlocked.Increment(ref _messagesSent);
        if (message.Malformed is { } kind)
        {
            Interlocked.Increment(ref _malformedSent);
            _logger.MalformedMessageSent(_options.DeviceId, message.Index, kind);
        }
        else
        {
            Interlocked.Add(ref _samplesSent, message.Samples.Count);
            Interlocked.Add(ref _valuesSent, message.ValueCount);
        }
        MessagePublished?.Invoke(this, new MessagePublishedEventArgs(message));
    }

    private DateTimeOffset DefaultStart()
    {
        var now = _timeProvider.GetUtcNow();
        var fast = _options.Burst || _options.SpeedUp > 1;
        if (!fast || _options.MessageLimit is not { } limit)
        {
            return now;
        }
        // In double: a huge limit times the interval would overflow; no sample older than EarliestTimestamp is accepted.
        var back = (double)_options.Interval.Ticks * (limit - 1);
        var earliest = TelemetryDecoder.EarliestTimestamp;
        return back >= (now - earliest).Ticks ? earliest : now - TimeSpan.FromTicks((long)back);
    }

    private static DateTimeOffset TruncateToMilliseconds(DateTimeOffset time) =>
        time.AddTicks(-(time.Ticks % TimeSpan.TicksPerMillisecond));
}

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.DeviceSimulatorStarted, Level = LogLevel.Information,
        Message = "Device simulator {DeviceId} started: {MachineCount} machines, burst {Burst}")]
    public static partial void DeviceSimulatorStarted(this ILogger logger, string deviceId, int machineCount, bool burst);

    [LoggerMessage(EventId = LogEvents.DeviceSimulatorStopped, Level = LogLevel.Information,
        Message = "Device simulator {DeviceId} stopped after {MessagesSent} messages, {MalformedSent} malformed on purpose")]
    public static partial void DeviceSimulatorStopped(this ILogger logger, string deviceId, long messagesSent, long malformedSent);

    [LoggerMessage(EventId = LogEvents.MalformedMessageSent, Level = LogLevel.Debug,
        Message = "Device simulator {DeviceId} sent message {Index} malformed on purpose: {Kind}")]
    public static partial void MalformedMessageSent(this ILogger logger, string deviceId, long index, MalformedKind kind);
}
