using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Edge.Configuration;

/// <summary>What became of one configuration document.</summary>
public enum ConfigurationApplyStatus
{
    /// <summary>Valid and different from the running configuration: it runs now.</summary>
    Applied,
    /// <summary>Valid and equal to the running configuration: nothing to do.</summary>
    Unchanged,
    /// <summary>Invalid: the last good configuration keeps running.</summary>
    Rejected,
}

/// <summary>The outcome of <see cref="ConfigurationStore.Apply(string, string)"/>, kept for status reporting.</summary>
public sealed record ConfigurationApplyResult
{
    public required ConfigurationApplyStatus Status { get; init; }

    /// <summary>Where the document came from ("file /etc/pdm/edge.json", "twin desired $version 7").</summary>
    public required string Origin { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>The store's version after this document: it counts configurations applied.</summary>
    public required long Version { get; init; }

    public IReadOnlyList<ConfigurationError> Errors { get; init; } = [];
}

/// <summary>A new configuration is running.</summary>
public sealed class ConfigurationChangedEventArgs(EdgeConfiguration configuration, EdgeConfiguration? previous, ConfigurationApplyResult result)
    : EventArgs
{
    public EdgeConfiguration Configuration { get; } = configuration;

    /// <summary>The configuration it replaced; null for the first one.</summary>
    public EdgeConfiguration? Previous { get; } = previous;

    public ConfigurationApplyResult Result { get; } = result;
}

/// <summary>
/// Holds the running configuration. Every document, from the file or the module twin, goes through
/// <see cref="Apply(string, string)"/>: a valid one replaces it and raises <see cref="Changed"/>, an invalid one is
/// rejected with its errors (<see cref="LastError"/>, <see cref="Rejected"/>) and the last good one keeps running.
/// </summary>
/// <remarks>
/// Applies are serialized and events are raised inside that order, so handlers see changes in sequence; they should
/// return quickly (signal a worker rather than restart sources inline).
/// </remarks>
public sealed partial class ConfigurationStore(ILogger<ConfigurationStore>? logger = null, TimeProvider? timeProvider = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<ConfigurationStore>.Instance;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private EdgeConfiguration? _current;
    private JsonElement? _currentDocument;
    private ConfigurationApplyResult? _lastResult;
    private ConfigurationApplyResult? _lastError;
    private long _version;

    /// <summary>Raised when a new configuration runs.</summary>
    public event EventHandler<ConfigurationChangedEventArgs>? Changed;

    /// <summary>Raised when a document is rejected; the running configuration is unchanged.</summary>
    public event EventHandler<ConfigurationApplyResult>? Rejected;

    /// <summary>The running configuration; null until the first valid document.</summary>
    public EdgeConfiguration? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>How many configurations have been applied; 0 before the first.</summary>
    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>The outcome of the latest document, whatever it was.</summary>
    public ConfigurationApplyResult? LastResult
    {
        get
        {
            lock (_gate)
            {
                return _lastResult;
            }
        }
    }

    /// <summary>The latest rejection, until a later document is accepted; null while everything is fine.</summary>
    public ConfigurationApplyResult? LastError
    {
        get
        {
            lock (_gate)
            {
                return _lastError;
            }
        }
    }

    public ConfigurationApplyResult Apply(string json, string origin)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return Apply(document.RootElement, origin);
        }
        catch (JsonException)
        {
            // The parser words the syntax error (line and byte) the same way for every caller.
            return Record(EdgeConfigurationParser.Parse(json), null, origin);
        }
    }

    public ConfigurationApplyResult Apply(JsonElement document, string origin) =>
        Record(EdgeConfigurationParser.Parse(document), document, origin);

    /// <summary>
    /// Records a rejection found before parsing (no <c>config</c> in the twin, an unreadable file), so it is reported
    /// like any other; the running configuration is unchanged.
    /// </summary>
    public ConfigurationApplyResult Reject(string origin, ConfigurationError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Record(new EdgeConfigurationParseResult(null, [error]), null, origin);
    }

    private ConfigurationApplyResult Record(EdgeConfigurationParseResult parsed, JsonElement? document, string origin)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(origin);
        lock (_gate)
        {
            var at = _time.GetUtcNow();
            if (!parsed.IsValid)
            {
                var rejected = new ConfigurationApplyResult
                {
                    Status = ConfigurationApplyStatus.Rejected, Origin = origin, At = at, Version = _version, Errors = parsed.Errors,
                };
                _lastResult = rejected;
                _lastError = rejected;
                _logger.ConfigurationRejected(origin, parsed.Errors.Count, parsed.Errors[0].ToString());
                Rejected?.Invoke(this, rejected);
                return rejected;
            }

            _lastError = null;
            if (_currentDocument is { } running && document is { } incoming && JsonElement.DeepEquals(running, incoming))
            {
                _lastResult = new ConfigurationApplyResult
                {
                    Status = ConfigurationApplyStatus.Unchanged, Origin = origin, At = at, Version = _version,
                };
                _logger.ConfigurationUnchanged(origin, _version);
                return _lastResult;
            }

            var previous = _current;
            _current = parsed.Configuration;
            _currentDocument = document?.Clone();
            _version++;
            var applied = new ConfigurationApplyResult
            {
                Status = ConfigurationApplyStatus.Applied, Origin = origin, At = at, Version = _version,
            };
            _lastResult = applied;
            var configuration = parsed.Configuration;
            _logger.ConfigurationApplied(origin, _version, configuration.Modbus.Count, configuration.Mqtt.Count, configuration.Http.Count,
                configuration.Opc.Mappings.Count);
            Changed?.Invoke(this, new ConfigurationChangedEventArgs(configuration, previous, applied));
            return applied;
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information,
        Message = "Configuration {Version} from {Origin} applied: {ModbusDevices} Modbus devices, {MqttSources} MQTT sources, {HttpSources} HTTP sources, {OpcMappings} OPC mappings")]
    public static partial void ConfigurationApplied(this ILogger logger, string origin, long version, int modbusDevices, int mqttSources,
        int httpSources, int opcMappings);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning,
        Message = "Configuration from {Origin} rejected with {ErrorCount} errors, the last good one keeps running; first: {FirstError}")]
    public static partial void ConfigurationRejected(this ILogger logger, string origin, int errorCount, string firstError);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "Configuration from {Origin} equals running version {Version}")]
    public static partial void ConfigurationUnchanged(this ILogger logger, string origin, long version);
}
