using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Queue;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Edge.Pipeline;

/// <summary>What the forwarder has delivered, for status reports and benchmarks.</summary>
public sealed record ForwarderStatus(long MessagesSent, long SamplesSent, DateTimeOffset? LastSentAt, string? LastError);

/// <summary>
/// Drains the store-and-forward queue to the cloud in order: the oldest records become one telemetry v1 message
/// (each machine sample numbered with its record's per-machine sequence), published with QoS 1, and the records are
/// acknowledged only after the broker's PUBACK. A crash between the PUBACK and the acknowledgement sends the batch
/// again with the same sequence numbers, which the cloud drops as duplicates.
/// <para>
/// Each message gets its own IoT Hub message id (<c>$.mid</c>; the cloud logs it with every line about the message)
/// and, when traced, the W3C <c>traceparent</c> of its <c>edge publish</c> span as an application property.
/// </para>
/// </summary>
public sealed partial class TelemetryForwarder
{
    /// <summary>IoT Hub refuses messages over 256 KB; stay well below it with room for the property bag.</summary>
    public const int MaxMessageBytes = 192 * 1024;

    public const int DefaultMaxSamplesPerMessage = 200;

    /// <summary>The application property that carries the W3C trace context to the cloud.</summary>
    public const string TraceParentProperty = "traceparent";

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
            var messageId = Guid.CreateVersion7().ToString("N");
            using var activity = EdgeTelemetry.Source.StartActivity("edge publish", ActivityKind.Producer);
            activity?.SetTag("messaging.message.id", messageId).SetTag("pdm.samples", records.Count);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await _client.PublishAsync(new MqttMessage(MessageTopic(messageId, activity), body, Qos: 1), cancellationToken);
            }
            catch (MqttException exception)
            {
                EdgeTelemetry.MessageFailed();
                activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
                activity?.Stop();
                var delay = ReconnectBackoff.NextDelay(failures++, TimeSpan.FromSeconds(1), MaxBackoff, random);
                Log.PublishFailed(_logger, records.Count, exception.Message, delay);
                Volatile.Write(ref _status, Status with { LastError = exception.Message });
                await Task.Delay(delay, _time, cancellationToken);
                continue;
            }
            EdgeTelemetry.MessageSent(Stopwatch.GetElapsedTime(started));
            Log.Published(_logger, messageId, records.Count);
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

    /// <summary>The telemetry topic with this message's id and trace context added to its property bag.</summary>
    private string MessageTopic(string messageId, Activity? activity)
    {
        var properties = new Dictionary<string, string>(2, StringComparer.Ordinal) { [IotHubSystemProperties.MessageId] = messageId };
        if (activity is { IdFormat: ActivityIdFormat.W3C, Id: { } traceParent })
        {
            properties[TraceParentProperty] = traceParent;
        }
        return IotHubTopics.AppendProperties(_topic, properties);
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

        [LoggerMessage(5311, LogLevel.Debug, "Sent message {MessageId} with {Samples} samples")]
        public static partial void Published(ILogger logger, string messageId, int samples);
    }
}
