using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Queue;
using Pdm.Messaging.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Edge.Pipeline;

/// <summary>What the forwarder has delivered, for status reports and benchmarks.</summary>
public sealed record ForwarderStatus(long MessagesSent, long SamplesSent, DateTimeOffset? LastSentAt, string? LastError);

/// <summary>
/// Drains the store-and-forward queue to the cloud in order: the oldest records become one telemetry v1 message
/// (each machine sample numbered with its record's per-machine sequence), published with QoS 1, and the records are
/// acknowledged only after the broker's PUBACK. A crash between the PUBACK and the acknowledgement sends the batch
/// again with the same sequence numbers, which the cloud drops as duplicates.
/// </summary>
public sealed partial class TelemetryForwarder
{
    /// <summary>IoT Hub refuses messages over 256 KB; stay well below it with room for the property bag.</summary>
    public const int MaxMessageBytes = 192 * 1024;

    public const int DefaultMaxSamplesPerMessage = 200;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly DiskQueue _queue;
    private readonly IMqttClient _client;
    private readonly string _topic;
    private readonly string? _gatewayId;
    private readonly int _maxSamples;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ForwarderStatus _status = new(0, 0, null, null);

    public TelemetryForwarder(
        DiskQueue queue,
        IMqttClient client,
        string topic,
        string? gatewayId,
        int maxSamplesPerMessage = DefaultMaxSamplesPerMessage,
        TimeProvider? timeProvider = null,
        ILogger<TelemetryForwarder>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSamplesPerMessage);
        _queue = queue;
        _client = client;
        _topic = topic;
        _gatewayId = gatewayId;
        _maxSamples = maxSamplesPerMessage;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<TelemetryForwarder>.Instance;
    }

    public ForwarderStatus Status => Volatile.Read(ref _status);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var records = new List<QueueRecord>(_maxSamples);
        var random = new Random();
        var failures = 0;
        var batchLimit = _maxSamples;
        while (!cancellationToken.IsCancellationRequested)
        {
            records.Clear();
            if (_queue.Peek(batchLimit, records) == 0)
            {
                await _queue.WaitForRecordsAsync(cancellationToken);
                continue;
            }
            var body = TelemetryEncoder.Encode(ToSamples(records), _gatewayId);
            if (body.Length > MaxMessageBytes && records.Count > 1)
            {
                // Wide machines (hundreds of sensors) need smaller batches; shrink until the message fits.
                batchLimit = Math.Max(1, records.Count / 2);
                continue;
            }
            try
            {
                await _client.PublishAsync(new MqttMessage(_topic, body, Qos: 1), cancellationToken);
            }
            catch (MqttException exception)
            {
                var delay = ReconnectBackoff.NextDelay(failures++, TimeSpan.FromSeconds(1), MaxBackoff, random);
                Log.PublishFailed(_logger, records.Count, exception.Message, delay);
                Volatile.Write(ref _status, Status with { LastError = exception.Message });
                await Task.Delay(delay, _time, cancellationToken);
                continue;
            }
            _queue.Acknowledge(records[^1].Id);
            failures = 0;
            batchLimit = _maxSamples;
            var status = Status;
            Volatile.Write(ref _status, status with
            {
                MessagesSent = status.MessagesSent + 1, SamplesSent = status.SamplesSent + records.Count, LastSentAt = _time.GetUtcNow(),
            });
        }
    }

    private static List<MachineSample> ToSamples(List<QueueRecord> records)
    {
        var samples = new List<MachineSample>(records.Count);
        foreach (var record in records)
        {
            var (timestamp, values) = ReadingCodec.Decode(record.Payload.Span);
            samples.Add(new MachineSample { MachineId = record.Stream, Timestamp = timestamp, Sequence = record.Sequence, Values = values });
        }
        return samples;
    }

    private static partial class Log
    {
        [LoggerMessage(5310, LogLevel.Warning, "Publishing {Samples} queued samples failed ({Error}); retrying in {RetryIn}")]
        public static partial void PublishFailed(ILogger logger, int samples, string error, TimeSpan retryIn);
    }
}
