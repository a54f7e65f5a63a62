using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Configuration;
using Pdm.Edge.Sources;
using Pdm.Mqtt;
using Pdm.Modbus;
using Pdm.Telemetry;

namespace Pdm.Edge.Modbus;

/// <summary>
/// Polls one Modbus device at its interval and hands each poll's values to the sink as one reading. libmodbus calls
/// block, so every device gets its own thread: a device that stops answering waits out its own timeouts and backoff
/// without delaying the others.
/// </summary>
public sealed partial class ModbusSource : ISource
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    private readonly ModbusDeviceConfiguration _device;
    private readonly Func<ModbusDeviceConfiguration, IModbusClient> _connect;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Points whose configured unit differs from the catalog's, and the catalog unit to convert to.
    private readonly Dictionary<ModbusPoint, string> _convertTo = new(ReferenceEqualityComparer.Instance);
    private readonly SourceStatusTracker _status;

    /// <param name="connect">Creates the client for the device; the libmodbus client when null.</param>
    public ModbusSource(
        ModbusDeviceConfiguration device,
        Func<ModbusDeviceConfiguration, IModbusClient>? connect = null,
        TimeProvider? timeProvider = null,
        ILogger<ModbusSource>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _connect = connect ?? (d => new ModbusClient(d.Endpoint, d.UnitId, d.ResponseTimeout));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<ModbusSource>.Instance;
        foreach (var point in device.Points)
        {
            if (point.Unit is not null && SensorCatalog.TryGet(point.Sensor, out var definition) && definition.Unit != point.Unit)
            {
                _convertTo[point] = definition.Unit;
            }
        }
        _status = new SourceStatusTracker(device.Name, "modbus", _time);
    }

    public string Name => _device.Name;

    public SourceStatus Status => _status.Snapshot;

    public Task RunAsync(IReadingSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Poll(sink, cancellationToken);
                done.SetResult();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                done.SetResult();
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
        })
        {
            IsBackground = true,
            Name = $"modbus {_device.Name}",
        };
        thread.Start();
        return done.Task;
    }

    private void Poll(IReadingSink sink, CancellationToken cancellationToken)
    {
        var plan = ModbusReadPlan.Create(_device.Points);
        if (plan.Plan is null)
        {
            // The configuration parser builds the same plan, so this is a programming error, not bad input.
            throw new InvalidOperationException($"Modbus device {_device.Name}: {string.Join("; ", plan.Problems)}");
        }
        var random = new Random();
        var readings = new List<ModbusReading>(plan.Plan.PointCount);
        var failures = 0;
        using var client = _connect(_device);
        var reader = new ModbusDeviceReader(client, plan.Plan);
        var next = _time.GetUtcNow();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var delay = next - _time.GetUtcNow();
                if (delay > TimeSpan.Zero && cancellationToken.WaitHandle.WaitOne(delay))
                {
                    break;
                }
                var startedAt = _time.GetUtcNow();
                try
                {
                    if (!client.IsConnected)
                    {
                        client.Connect();
                    }
                    readings.Clear();
                    reader.Read(readings);
                }
                catch (ModbusException exception)
                {
                    client.Close();
                    var backoff = ReconnectBackoff.NextDelay(failures++, _device.PollInterval, MaxBackoff, random);
                    Failed(exception.Message, backoff);
                    next = startedAt + backoff;
                    continue;
                }
                failures = 0;
                Deliver(sink, startedAt, readings, cancellationToken);
                // Fixed rate, not fixed delay; after a stall (slow device, paused VM) start again from now.
                next += _device.PollInterval;
                if (next < startedAt)
                {
                    next = startedAt + _device.PollInterval;
                }
            }
        }
        finally
        {
            client.Close();
            _status.SetState(SourceState.Stopped);
        }
    }

    private void Deliver(IReadingSink sink, DateTimeOffset readAt, List<ModbusReading> readings, CancellationToken cancellationToken)
    {
        var values = new SensorValue[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            values[i] = new SensorValue(readings[i].Sensor, ToCatalogUnit(readings[i]));
        }
        var write = sink.WriteAsync(new SourceReading(_device.MachineId, readAt, values), cancellationToken);
        if (!write.IsCompletedSuccessfully)
        {
            // This is the device's own thread; waiting here is the backpressure we want.
            write.AsTask().GetAwaiter().GetResult();
        }
        _status.SetState(SourceState.Connected);
        _status.RecordRead();
    }

    private double ToCatalogUnit(ModbusReading reading) =>
        // The parser checked at load time that every declared unit converts to the catalog unit.
        _convertTo.TryGetValue(reading.Point, out var unit) && UnitConverter.TryConvert(reading.Value, reading.Point.Unit!, unit, out var converted)
            ? converted
            : reading.Value;

    private void Failed(string error, TimeSpan retryIn)
    {
        var status = Status;
        if (status.State != SourceState.Failing || status.LastError != error)
        {
            Log.DeviceFailing(_logger, _device.Name, error, retryIn);
        }
        _status.RecordError(error, SourceState.Failing);
    }

    private static partial class Log
    {
        [LoggerMessage(5300, LogLevel.Warning, "Modbus device {Device} is not answering ({Error}); retrying in {RetryIn}")]
        public static partial void DeviceFailing(ILogger logger, string device, string error, TimeSpan retryIn);
    }
}
