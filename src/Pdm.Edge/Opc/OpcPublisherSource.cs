using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Edge.Configuration;
using Pdm.Edge.Sources;
using Pdm.Mqtt;
using Pdm.Telemetry;
using Pdm.Telemetry.OpcPublisher;

namespace Pdm.Edge.Opc;

/// <summary>
/// OPC UA values that Microsoft's OPC Publisher module publishes and edgeHub routes into this module's
/// <c>opc</c> input: each message is decoded, its values mapped to machines and sensors by the configuration's
/// <c>opc</c> section, and each machine's values at one timestamp become one reading. Values no mapping names are
/// counted, not errors: a published-nodes file often lists more than a plant wants stored.
/// </summary>
public sealed partial class OpcPublisherSource(
    OpcConfiguration configuration,
    ChannelReader<MqttMessage> input,
    TimeProvider? timeProvider = null,
    ILogger<OpcPublisherSource>? logger = null) : ISource
{
    public const string InputName = "opc";

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger<OpcPublisherSource>.Instance;
    private readonly SourceStatusTracker _status = new("opc-publisher", "opc", timeProvider ?? TimeProvider.System);
    private long _unmapped;

    public string Name => "opc-publisher";

    public SourceStatus Status => _status.Snapshot;

    /// <summary>Values that matched no mapping.</summary>
    public long UnmappedValues => Interlocked.Read(ref _unmapped);

    public async Task RunAsync(IReadingSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _status.SetState(SourceState.Connected);
        try
        {
            await foreach (var message in input.ReadAllAsync(cancellationToken))
            {
                var decoded = OpcPublisherDecoder.Decode(message.Payload.Span, ContentTypeOf(message.Topic));
                if (decoded.Errors.Count > 0)
                {
                    var error = $"{message.Topic}: {decoded.Errors[0]}";
                    _status.RecordError(error);
                    Log.MessageRejected(_logger, error);
                }
                foreach (var reading in Map(decoded.Values, _time.GetUtcNow()))
                {
                    await sink.WriteAsync(reading, cancellationToken);
                    _status.RecordRead();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Asked to stop.
        }
        finally
        {
            _status.SetState(SourceState.Stopped);
        }
    }

    /// <summary>Mapped values grouped into one reading per machine and timestamp.</summary>
    internal IEnumerable<SourceReading> Map(IReadOnlyList<OpcValue> values, DateTimeOffset receivedAt)
    {
        var readings = new Dictionary<(string Machine, DateTimeOffset At), List<SensorValue>>();
        foreach (var value in values)
        {
            if (!TryMap(value, out var machineId, out var sensor))
            {
                Interlocked.Increment(ref _unmapped);
                continue;
            }
            var key = (machineId, value.Timestamp ?? receivedAt);
            if (!readings.TryGetValue(key, out var list))
            {
                readings[key] = list = [];
            }
            list.Add(sensor);
        }
        return readings.Select(r => new SourceReading(r.Key.Machine, r.Key.At, r.Value));
    }

    private bool TryMap(OpcValue value, out string machineId, out SensorValue sensor)
    {
        foreach (var mapping in configuration.Mappings)
        {
            if (!Selects(mapping, value))
            {
                continue;
            }
            foreach (var field in mapping.Fields)
            {
                if (field.Field == value.Field || field.Field == value.NodeId)
                {
                    machineId = mapping.MachineId;
                    sensor = new SensorValue(field.Sensor, ToCatalogUnit(field, value.Value * field.Scale + field.Offset));
                    return true;
                }
            }
        }
        machineId = "";
        sensor = default;
        return false;
    }

    // Every selector a mapping gives must match; a data set is named by its writer in OPC Publisher's messages.
    private static bool Selects(OpcMapping mapping, OpcValue value) =>
        (mapping.DataSetWriter is null || mapping.DataSetWriter == value.DataSetWriterName || mapping.DataSetWriter == value.DataSetWriterId)
        && (mapping.DataSetName is null || mapping.DataSetName == value.DataSetWriterName || mapping.DataSetName == value.WriterGroup)
        && (mapping.EndpointUrl is null || mapping.EndpointUrl == value.EndpointUrl);

    private static double ToCatalogUnit(OpcFieldMapping field, double value) =>
        field.Unit is not null && field.CatalogUnit is not null && UnitConverter.TryConvert(value, field.Unit, field.CatalogUnit, out var converted)
            ? converted
            : value;

    /// <summary>The content type edgeHub puts in the input topic's property bag (<c>$.ct</c>), if any.</summary>
    internal static string? ContentTypeOf(string topic)
    {
        var bagStart = topic.IndexOf($"/inputs/{InputName}/", StringComparison.Ordinal);
        if (bagStart < 0)
        {
            return null;
        }
        foreach (var pair in topic[(bagStart + InputName.Length + 9)..].Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && Uri.UnescapeDataString(pair[..equals]) == "$.ct")
            {
                return Uri.UnescapeDataString(pair[(equals + 1)..].TrimEnd('/'));
            }
        }
        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(5320, LogLevel.Warning, "OPC Publisher message rejected: {Error}")]
        public static partial void MessageRejected(ILogger logger, string error);
    }
}
