using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Pdm.Storage;
using Pdm.Telemetry;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>Settings of the dashboard's reads (<c>Pdm__Dashboard__SilentAfter</c>).</summary>
public sealed class DashboardOptions
{
    public const string Section = "Pdm:Dashboard";

    /// <summary>A machine whose last sample is older than this is silent in the fleet overview (the default silent rule's 15 min).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")] public TimeSpan SilentAfter { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// The dashboard's two reads, for any tenant key: the fleet overview and one machine's chart. Both answer with an ETag
/// of their content, so a poller sending If-None-Match gets 304 while nothing changed.
/// </summary>
internal static class DashboardEndpoints
{
    public const int DefaultMaxPoints = 1000;
    public const int MaxMaxPoints = 10_000;
    public const int MaxSensors = 64;
    public static readonly TimeSpan DefaultRange = TimeSpan.FromHours(24);
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(31);

    public static void MapDashboard(this RouteGroupBuilder v1)
    {
        v1.MapGet("/fleet", FleetAsync);
        v1.MapGet("/machines/{machineId}/series", SeriesAsync);
    }

    private static async Task<IResult> FleetAsync(HttpContext http, DashboardStore dashboard, IOptions<DashboardOptions> options,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        var (rows, bySeverity) = await dashboard.ReadFleetAsync(tenant, cancellationToken);
        var overview = FleetOverview.From(rows, bySeverity, clock.GetUtcNow(), options.Value.SilentAfter);
        // generatedAt changes on every call; the tag covers everything else.
        var etag = ETags.Of(JsonSerializer.SerializeToUtf8Bytes(overview with { GeneratedAt = default }, JsonSerializerOptions.Web));
        return ETags.IsNotModified(http, etag) ? ETags.NotModified
            : TypedResults.Bytes(JsonSerializer.SerializeToUtf8Bytes(overview, JsonSerializerOptions.Web), "application/json");
    }

    private static async Task<IResult> SeriesAsync(string machineId, string? from, string? to, string? sensors, string? maxPoints,
        HttpContext http, DashboardStore dashboard, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (TextRules.CheckId(machineId, "machineId", TextRules.MaxIdLength) is { } badId)
        {
            return Problems.Invalid("machineId", badId);
        }
        if (QueryValues.Time(from, "from", out var fromTime) is { } badFrom)
        {
            return Problems.Invalid("from", badFrom);
        }
        if (QueryValues.Time(to, "to", out var toTime) is { } badTo)
        {
            return Problems.Invalid("to", badTo);
        }
        var end = toTime ?? clock.GetUtcNow();
        var start = fromTime ?? end - DefaultRange;
        if (start >= end)
        {
            return Problems.Invalid("from", "from must be before to");
        }
        if (end - start > MaxRange)
        {
            return Problems.Invalid("from", $"the range from {start:u} to {end:u} is longer than {MaxRange.TotalDays:0} days");
        }
        if (Sensors(sensors, out var sensorList) is { } badSensors)
        {
            return Problems.Invalid("sensors", badSensors);
        }
        if (MaxPoints(maxPoints, out var points) is { } badPoints)
        {
            return Problems.Invalid("maxPoints", badPoints);
        }
        if (await dashboard.ReadSeriesAsync(tenant, machineId, start, end, sensorList, points, cancellationToken) is not { } series)
        {
            return Problems.NotFound($"no machine '{machineId}' in this tenant");
        }
        return ETags.IsNotModified(http, SeriesJson.ETag(series)) ? ETags.NotModified
            : new SeriesResult(series);
    }

    /// <summary>The chart, written straight into the response's pipe (Kestrel's pooled memory).</summary>
    private sealed class SeriesResult(MachineSeries series) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "application/json";
            return SeriesJson.WriteAsync(series, httpContext.Response.BodyWriter);
        }
    }

    /// <summary>Comma-separated sensor names (lower snake case, no repeats); absent or empty means all.</summary>
    internal static string? Sensors(string? raw, out IReadOnlyList<string>? sensors)
    {
        sensors = null;
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }
        var names = raw.Split(',');
        if (names.Length > MaxSensors)
        {
            return $"sensors lists {names.Length} names; at most {MaxSensors} are allowed";
        }
        foreach (var name in names)
        {
            if (!SensorCatalog.IsValidName(name))
            {
                return $"sensors must be sensor names separated by commas, each lower snake case ([a-z][a-z0-9_], at most "
                    + $"{SensorCatalog.MaxNameLength} characters) (got '{TextRules.Shorten(name)}')";
            }
        }
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            return "sensors names a sensor twice";
        }
        sensors = names;
        return null;
    }

    internal static string? MaxPoints(string? raw, out int maxPoints)
    {
        maxPoints = DefaultMaxPoints;
        if (raw is null)
        {
            return null;
        }
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out maxPoints) || maxPoints < 1 || maxPoints > MaxMaxPoints)
        {
            maxPoints = DefaultMaxPoints;
            return $"maxPoints must be a whole number from 1 to {MaxMaxPoints} (got '{TextRules.Shorten(raw)}')";
        }
        return null;
    }
}

/// <summary>
/// The chart as the contract gives it (points as arrays, their times as ISO 8601 UTC text), written straight to the
/// response: a 30-day chart is some 6,000 points and half a megabyte of JSON, which as boxed arrays for the serializer,
/// or as one buffer to hash, cost more than the query (and large buffers mean full garbage collections).
/// </summary>
internal static class SeriesJson
{
    // Written to the body whenever this much is pending, so the writer's buffer stays small.
    private const int FlushBytes = 32 * 1024;

    /// <summary>
    /// A strong tag of the chart: a hash of every value <see cref="WriteAsync"/> writes, so it is known before the body
    /// is, and the same chart always has the same tag.
    /// </summary>
    public static string ETag(MachineSeries series)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var fingerprint = new Fingerprint(hash, stackalloc byte[4096]);
        fingerprint.Add(series.MachineId);
        fingerprint.Add(series.From.UtcTicks);
        fingerprint.Add(series.To.UtcTicks);
        fingerprint.Add((long)series.Resolution);
        foreach (var sensor in series.Sensors)
        {
            fingerprint.Add(sensor.Sensor);
            fingerprint.Add(sensor.Points.Count);
            foreach (var point in sensor.Points)
            {
                fingerprint.Add(point.Time.UtcTicks);
                fingerprint.Add(point.Mean);
                fingerprint.Add(point.Min);
                fingerprint.Add(point.Max);
                fingerprint.Add(point.Count);
            }
        }
        fingerprint.Add(series.Scores.Count);
        foreach (var score in series.Scores)
        {
            fingerprint.Add(score.Time.UtcTicks);
            fingerprint.Add(score.Score);
            fingerprint.Add(score.Anomalous ? 1 : 0);
        }
        fingerprint.Add(series.Alerts.Count);
        foreach (var alert in series.Alerts)
        {
            fingerprint.Add(alert.AlertId.ToString("N"));
            fingerprint.Add(alert.RuleId);
            fingerprint.Add(alert.Severity);
            fingerprint.Add(alert.Status);
            fingerprint.Add(alert.OpenedAt.UtcTicks);
            fingerprint.Add(alert.ResolvedAt?.UtcTicks ?? -1);
            fingerprint.Add(alert.Summary);
        }
        fingerprint.Flush();
        return ETags.FromSha256(hash.GetHashAndReset());
    }

    public static async Task WriteAsync(MachineSeries series, PipeWriter pipe)
    {
        await using var json = new Utf8JsonWriter(pipe);
        json.WriteStartObject();
        json.WriteString("machineId", series.MachineId);
        json.WriteString("from", series.From);
        json.WriteString("to", series.To);
        json.WriteString("resolution", series.Resolution switch { SeriesResolution.Raw => "raw", SeriesResolution.Minute => "1m", _ => "1h" });
        var times = new ChartTimes();
        json.WriteStartArray("sensors");
        foreach (var sensor in series.Sensors)
        {
            json.WriteStartObject();
            json.WriteString("sensor", sensor.Sensor);
            json.WriteString("unit", SensorCatalog.TryGet(sensor.Sensor, out var definition) ? definition.Unit : null);
            json.WriteStartArray("points");
            foreach (var point in sensor.Points)
            {
                json.WriteStartArray();
                json.WriteStringValue(times[point.Time]);
                ChartNumbers.Write(json, point.Mean);
                ChartNumbers.Write(json, point.Min);
                ChartNumbers.Write(json, point.Max);
                json.WriteNumberValue(point.Count);
                json.WriteEndArray();
                await FlushWhenFullAsync(json, pipe);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("scores");
        foreach (var score in series.Scores)
        {
            json.WriteStartArray();
            json.WriteStringValue(times[score.Time]);
            ChartNumbers.Write(json, score.Score);
            json.WriteBooleanValue(score.Anomalous);
            json.WriteEndArray();
            await FlushWhenFullAsync(json, pipe);
        }
        json.WriteEndArray();
        json.WriteStartArray("alerts");
        foreach (var alert in series.Alerts)
        {
            json.WriteStartObject();
            json.WriteString("alertId", alert.AlertId);
            json.WriteString("ruleId", alert.RuleId);
            json.WriteString("severity", alert.Severity);
            json.WriteString("status", alert.Status);
            json.WriteString("openedAt", alert.OpenedAt);
            if (alert.ResolvedAt is { } resolvedAt)
            {
                json.WriteString("resolvedAt", resolvedAt);
            }
            else
            {
                json.WriteNull("resolvedAt");
            }
            json.WriteString("summary", alert.Summary);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await FlushAsync(json, pipe);
    }

    private static ValueTask FlushWhenFullAsync(Utf8JsonWriter json, PipeWriter pipe) =>
        json.BytesPending > FlushBytes ? FlushAsync(json, pipe) : ValueTask.CompletedTask;

    private static async ValueTask FlushAsync(Utf8JsonWriter json, PipeWriter pipe)
    {
        json.Flush();
        await pipe.FlushAsync();
    }

    /// <summary>Feeds fixed-size values and strings to a hash through a small buffer.</summary>
    private ref struct Fingerprint(IncrementalHash hash, Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _used;

        public void Add(long value)
        {
            if (_used + sizeof(long) > _buffer.Length)
            {
                Flush();
            }
            BinaryPrimitives.WriteInt64LittleEndian(_buffer[_used..], value);
            _used += sizeof(long);
        }

        public void Add(double value) => Add(BitConverter.DoubleToInt64Bits(value));

        /// <summary>A string with its length first, so that ("ab", "c") and ("a", "bc") differ; null as length -1.</summary>
        public void Add(string? value)
        {
            Add(value?.Length ?? -1);
            Flush();
            hash.AppendData(MemoryMarshal.AsBytes(value.AsSpan()));
        }

        public void Flush()
        {
            hash.AppendData(_buffer[.._used]);
            _used = 0;
        }
    }
}
