using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Edge.Configuration;

/// <summary>What became of one desired-properties document or patch.</summary>
public enum TwinApplyStatus
{
    Applied,
    /// <summary>The configuration in it equals the running one.</summary>
    Unchanged,
    /// <summary>The configuration in it is invalid; the last good one keeps running.</summary>
    Rejected,
    /// <summary>Its <c>$version</c> is older than what was already handled; ignored.</summary>
    Stale,
    /// <summary>A patch that cannot be merged (no full twin yet, or a version was skipped): fetch the full twin.</summary>
    FullTwinNeeded,
}

public sealed record TwinApplyResult
{
    public required TwinApplyStatus Status { get; init; }

    /// <summary>The desired <c>$version</c> of the document or patch, when it had one.</summary>
    public long? DesiredVersion { get; init; }

    public IReadOnlyList<ConfigurationError> Errors { get; init; } = [];
}

/// <summary>
/// The module twin side of configuration under IoT Edge: the document lives in the single desired property
/// <c>config</c>; full desired sections and patches (JSON merge patches with <c>$version</c>) are merged here, their
/// <c>$</c> members (<c>$version</c>, <c>$metadata</c>) dropped, and the result goes through the
/// <see cref="ConfigurationStore"/>. <see cref="BuildReported"/> writes the reported properties that tell the cloud
/// which version runs and how every source is doing.
/// </summary>
public sealed partial class TwinDesiredProperties(ConfigurationStore store, ILogger<TwinDesiredProperties>? logger = null)
{
    /// <summary>The desired property that holds the configuration document.</summary>
    public const string ConfigProperty = "config";

    /// <summary>Configuration errors reported at most; the reported section of a twin is limited to 32 KB.</summary>
    public const int MaxReportedErrors = 20;

    private readonly ConfigurationStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly ILogger _logger = logger ?? NullLogger<TwinDesiredProperties>.Instance;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _reportedSources = new(StringComparer.Ordinal);
    private JsonObject? _desired;
    private long? _version;
    private long? _activeVersion;
    private long? _handledVersion;
    private ConfigurationApplyResult? _handledResult;

    /// <summary>The desired <c>$version</c> merged so far; null before the first full twin.</summary>
    public long? DesiredVersion
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>Applies the whole desired section (from a twin GET, at start and after a reconnect).</summary>
    public TwinApplyResult ApplyFull(string desiredJson)
    {
        lock (_gate)
        {
            if (!TryReadObject(desiredJson, out var desired, out var version, out var problem))
            {
                return Reject(version, problem);
            }
            if (version is { } v && _version is { } current && v < current)
            {
                _logger.TwinVersionStale(v, current);
                return new TwinApplyResult { Status = TwinApplyStatus.Stale, DesiredVersion = v };
            }
            _desired = desired;
            _version = version ?? _version;
            return ApplyConfig(version);
        }
    }

    /// <summary>Applies a desired-properties patch: properties in it replace, null removes, objects merge.</summary>
    public TwinApplyResult ApplyPatch(string patchJson)
    {
        lock (_gate)
        {
            if (!TryReadObject(patchJson, out var patch, out var version, out var problem))
            {
                return Reject(version, problem);
            }
            if (version is { } v && _version is { } current && v <= current)
            {
                _logger.TwinVersionStale(v, current);
                return new TwinApplyResult { Status = TwinApplyStatus.Stale, DesiredVersion = v };
            }
            if (_desired is null || version is null || _version is null || version != _version + 1)
            {
                // Merging onto a base that misses a change would run a configuration nobody wrote.
                _logger.TwinFullTwinNeeded(version, _version);
                return new TwinApplyResult { Status = TwinApplyStatus.FullTwinNeeded, DesiredVersion = version };
            }
            Merge(_desired, patch);
            _version = version;
            return ApplyConfig(version);
        }
    }

    /// <summary>
    /// The reported-properties patch: configuration outcome, every source's status, and the queue's numbers.
    /// Sources reported before but gone now are set to null, which removes them from the twin.
    /// </summary>
    /// <param name="queue">Queue figures by name (<c>bytes</c>, <c>readings</c>, ...); keys must not contain '.', '$' or spaces.</param>
    public string BuildReported(IEnumerable<SourceStatus> sources, IReadOnlyDictionary<string, long>? queue = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        lock (_gate)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                // Outside IoT Edge the document comes from a file: report the store's last result, versioned by the store.
                if (_handledResult is { } result)
                {
                    WriteConfig(writer, result, _handledVersion, _activeVersion);
                }
                else if (_store.LastResult is { } fileResult)
                {
                    WriteConfig(writer, fileResult, fileResult.Version, _store.Version);
                }

                writer.WriteStartObject("sources");
                var current = new HashSet<string>(StringComparer.Ordinal);
                foreach (var source in sources)
                {
                    current.Add(source.Name);
                    WriteSource(writer, source);
                }
                foreach (var gone in _reportedSources.Except(current).Order(StringComparer.Ordinal))
                {
                    writer.WriteNull(gone);
                }
                _reportedSources.Clear();
                _reportedSources.UnionWith(current);
                writer.WriteEndObject();

                if (queue is not null)
                {
                    writer.WriteStartObject("queue");
                    foreach (var (name, value) in queue)
                    {
                        writer.WriteNumber(name, value);
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }

    private static void WriteConfig(Utf8JsonWriter writer, ConfigurationApplyResult result, long? version, long? activeVersion)
    {
        writer.WriteStartObject("config");
        WriteNumberOrNull(writer, "version", version);
        writer.WriteString("status", result.Status == ConfigurationApplyStatus.Rejected ? "rejected" : "applied");
        WriteNumberOrNull(writer, "activeVersion", activeVersion);
        writer.WriteString("at", Timestamp(result.At));
        writer.WriteNumber("errorCount", result.Errors.Count);
        writer.WriteStartArray("errors");
        foreach (var error in result.Errors.Take(MaxReportedErrors))
        {
            writer.WriteStartObject();
            writer.WriteString("path", error.Path);
            writer.WriteString("reason", error.Reason);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteSource(Utf8JsonWriter writer, SourceStatus source)
    {
        writer.WriteStartObject(source.Name);
        writer.WriteString("kind", source.Kind);
        writer.WriteString("state", source.State switch
        {
            SourceState.Starting => "starting",
            SourceState.Connected => "connected",
            SourceState.Failing => "failing",
            _ => "stopped",
        });
        // Nulls are written on purpose: in a reported patch they clear what an earlier report said.
        WriteStringOrNull(writer, "lastRead", source.LastRead is { } lastRead ? Timestamp(lastRead) : null);
        WriteStringOrNull(writer, "lastError", source.LastError);
        WriteStringOrNull(writer, "lastErrorAt", source.LastErrorAt is { } lastErrorAt ? Timestamp(lastErrorAt) : null);
        writer.WriteNumber("reads", source.Reads);
        writer.WriteNumber("errors", source.Errors);
        writer.WriteEndObject();
    }

    private TwinApplyResult ApplyConfig(long? version)
    {
        var origin = version is { } v ? $"twin desired $version {v.ToString(CultureInfo.InvariantCulture)}" : "twin desired";
        ConfigurationApplyResult result;
        if (_desired!.TryGetPropertyValue(ConfigProperty, out var config) && config is not null)
        {
            using var document = JsonDocument.Parse(config.ToJsonString());
            result = _store.Apply(document.RootElement, origin);
        }
        else
        {
            result = _store.Reject(origin, new ConfigurationError(ConfigProperty,
                $"the desired properties have no '{ConfigProperty}' property; the edge configuration document goes there"));
        }

        _handledVersion = version;
        _handledResult = result;
        if (result.Status != ConfigurationApplyStatus.Rejected)
        {
            _activeVersion = version;
        }
        return new TwinApplyResult
        {
            Status = result.Status switch
            {
                ConfigurationApplyStatus.Applied => TwinApplyStatus.Applied,
                ConfigurationApplyStatus.Unchanged => TwinApplyStatus.Unchanged,
                _ => TwinApplyStatus.Rejected,
            },
            DesiredVersion = version,
            Errors = result.Errors,
        };
    }

    private TwinApplyResult Reject(long? version, string problem)
    {
        var error = new ConfigurationError("", problem);
        _handledVersion = version;
        _handledResult = _store.Reject("twin desired", error);
        return new TwinApplyResult { Status = TwinApplyStatus.Rejected, DesiredVersion = version, Errors = [error] };
    }

    private static bool TryReadObject(string json, out JsonObject desired, out long? version, out string problem)
    {
        ArgumentNullException.ThrowIfNull(json);
        desired = [];
        version = null;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            problem = $"desired properties are not valid JSON: {ex.Message}";
            return false;
        }
        if (node is not JsonObject obj)
        {
            problem = "desired properties must be a JSON object";
            return false;
        }
        if (obj.TryGetPropertyValue("$version", out var versionNode) && versionNode is JsonValue value && value.TryGetValue<long>(out var v))
        {
            version = v;
        }
        StripSystemMembers(obj);
        desired = obj;
        problem = "";
        return true;
    }

    /// <summary>Drops <c>$version</c>, <c>$metadata</c> and every other member IoT Hub adds (all start with '$').</summary>
    private static void StripSystemMembers(JsonObject obj)
    {
        foreach (var name in obj.Select(p => p.Key).Where(k => k.StartsWith('$')).ToList())
        {
            obj.Remove(name);
        }
        foreach (var child in obj.Select(p => p.Value).OfType<JsonObject>())
        {
            StripSystemMembers(child);
        }
    }

    /// <summary>JSON merge patch (RFC 7396), which is how IoT Hub sends desired property changes.</summary>
    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject patchObject && target[name] is JsonObject targetObject)
            {
                Merge(targetObject, patchObject);
            }
            else
            {
                patch.Remove(name);
                target[name] = value;
            }
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 5120, Level = LogLevel.Debug, Message = "Desired properties $version {Version} ignored: {Current} was already handled")]
    public static partial void TwinVersionStale(this ILogger logger, long version, long current);

    [LoggerMessage(EventId = 5121, Level = LogLevel.Information,
        Message = "Desired properties patch $version {Version} cannot be merged onto $version {Current}; the full twin is needed")]
    public static partial void TwinFullTwinNeeded(this ILogger logger, long? version, long? current);
}
