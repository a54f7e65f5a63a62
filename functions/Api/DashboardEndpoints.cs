using System.ComponentModel.DataAnnotations;
using System.Globalization;
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
        HttpContext http, MachineStore machines, DashboardStore dashboard, TimeProvider clock, CancellationToken cancellationToken)
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
        if (await machines.GetMachineAsync(tenant, machineId, cancellationToken) is null)
        {
            return Problems.NotFound($"no machine '{machineId}' in this tenant");
        }
        var series = await dashboard.ReadSeriesAsync(tenant, machineId, start, end, sensorList, points, cancellationToken);
        return ETags.Json(http, SeriesDto.Of(series));
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

/// <summary>The chart as the contract gives it: points as arrays, times as ISO 8601 UTC text.</summary>
internal sealed record SeriesDto(string MachineId, DateTimeOffset From, DateTimeOffset To, string Resolution,
    IReadOnlyList<SensorSeriesDto> Sensors, IReadOnlyList<object[]> Scores, IReadOnlyList<SeriesAlertDto> Alerts)
{
    public static SeriesDto Of(MachineSeries series) => new(series.MachineId, series.From, series.To,
        series.Resolution switch { SeriesResolution.Raw => "raw", SeriesResolution.Minute => "1m", _ => "1h" },
        [.. series.Sensors.Select(s => new SensorSeriesDto(s.Sensor, SensorCatalog.TryGet(s.Sensor, out var d) ? d.Unit : null,
            [.. s.Points.Select(p => new object[] { Time(p.Time), p.Mean, p.Min, p.Max, p.Count })]))],
        [.. series.Scores.Select(p => new object[] { Time(p.Time), p.Score, p.Anomalous })],
        [.. series.Alerts.Select(a => new SeriesAlertDto(a.AlertId, a.RuleId, a.Severity, a.Status, a.OpenedAt, a.ResolvedAt, a.Summary))]);

    private static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}

internal sealed record SensorSeriesDto(string Sensor, string? Unit, IReadOnlyList<object[]> Points);

internal sealed record SeriesAlertDto(Guid AlertId, string RuleId, string Severity, string Status, DateTimeOffset OpenedAt,
    DateTimeOffset? ResolvedAt, string? Summary);
