using System.Text.Json;
using Pdm.Alerts;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// A tenant's alerts: listed (filtered, latest activity first, a page at a time), read with their events, and
/// acknowledged, resolved or commented by an operator (or admin) key through the alert lifecycle. Each action runs on the
/// alert's row locked, so it cannot interleave with an evaluation of the same machine.
/// </summary>
internal static class AlertEndpoints
{
    private const int MaxAlerts = 1000;
    private const int MaxCommentLength = 2000;
    private static readonly string[] Statuses = [.. AlertRecords.Names<AlertStatus>()];
    private static readonly string[] Severities = [.. AlertRecords.Names<AlertSeverity>()];

    public static void MapAlerts(this RouteGroupBuilder v1)
    {
        v1.MapGet("/alerts", ListAlertsAsync)
            .WithName("ListAlerts").WithSummary("Alerts, filtered, latest activity first, a page at a time (ETag)").Produces<AlertsPage>();
        v1.MapGet("/alerts/{alertId:guid}", GetAlertAsync)
            .WithName("GetAlert").WithSummary("One alert with its events").Produces<AlertDetailDto>();
        v1.MapPost("/alerts/{alertId:guid}/acknowledge", AcknowledgeAsync)
            .WithName("AcknowledgeAlert").WithSummary("Acknowledge an alert (operator)").Produces<JsonElement>();
        v1.MapPost("/alerts/{alertId:guid}/resolve", ResolveAsync)
            .WithName("ResolveAlert").WithSummary("Resolve an alert (operator)").Produces<JsonElement>();
        v1.MapPost("/alerts/{alertId:guid}/comments", CommentAsync)
            .WithName("CommentAlert").WithSummary("Comment on an alert (operator)").Produces<JsonElement>();
    }

    /// <summary>
    /// Filters: status and severity (comma-separated lists), machineId or deviceId, ruleId, from/to on last seen
    /// ([from, to)); cursor from the previous page's <c>next</c>. The answer carries an ETag of its content, so a poller
    /// sending If-None-Match gets 304 while nothing changed.
    /// </summary>
    private static async Task<IResult> ListAlertsAsync(string? status, string? severity, string? machineId, string? deviceId,
        string? ruleId, string? from, string? to, string? cursor, string? limit, HttpContext http, AlertStore alerts,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (List(status, "status", Statuses, out var statuses) is { } badStatus)
        {
            return Problems.Invalid("status", badStatus);
        }
        if (List(severity, "severity", Severities, out var severities) is { } badSeverity)
        {
            return Problems.Invalid("severity", badSeverity);
        }
        if (machineId is not null && deviceId is not null)
        {
            return Problems.Invalid("deviceId", "give machineId or deviceId, not both: an alert is about one or the other");
        }
        if (machineId is not null && TextRules.CheckId(machineId, "machineId", TextRules.MaxIdLength) is { } badMachine)
        {
            return Problems.Invalid("machineId", badMachine);
        }
        if (deviceId is not null && TextRules.CheckId(deviceId, "deviceId", TextRules.MaxIdLength) is { } badDevice)
        {
            return Problems.Invalid("deviceId", badDevice);
        }
        if (ruleId is not null && TextRules.CheckId(ruleId, "ruleId", 63) is { } badRule)
        {
            return Problems.Invalid("ruleId", badRule);
        }
        if (QueryValues.Time(from, "from", out var fromTime) is { } badFrom)
        {
            return Problems.Invalid("from", badFrom);
        }
        if (QueryValues.Time(to, "to", out var toTime) is { } badTo)
        {
            return Problems.Invalid("to", badTo);
        }
        if (fromTime > toTime)
        {
            return Problems.Invalid("from", "from must not be after to");
        }
        AlertCursor? after = null;
        if (cursor is not null)
        {
            if (!PageCursor.TryParse(cursor, out var parsed) || !Guid.TryParseExact(parsed.Id, "N", out var lastId))
            {
                return Problems.Invalid("cursor", Paging.InvalidCursor);
            }
            after = new AlertCursor(parsed.At, lastId);
        }
        if (QueryValues.Limit(limit, 100, MaxAlerts, out var rows) is { } badLimit)
        {
            return Problems.Invalid("limit", badLimit);
        }
        var page = await alerts.ListAlertsAsync(tenant, new AlertQuery
        {
            Statuses = statuses,
            Severities = severities,
            Subject = machineId is not null ? AlertSubject.Machine(machineId) : deviceId is not null ? AlertSubject.Device(deviceId) : null,
            RuleId = ruleId,
            From = fromTime,
            To = toTime,
            After = after,
            Limit = rows,
        }, cancellationToken);
        string? nextCursor = null;
        if (page.Next is { } next)
        {
            nextCursor = new PageCursor(next.LastSeenAt, next.Id.ToString("N")).Format();
            http.Response.Headers.Append("Link", $"<{Paging.NextLink(http, nextCursor)}>; rel=\"next\"");
        }
        return ETags.Json(http, new AlertsPage([.. page.Alerts.Select(AlertJson)], nextCursor));
    }

    private static async Task<IResult> GetAlertAsync(Guid alertId, HttpContext http, AlertStore alerts, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        var detail = await alerts.GetAlertAsync(tenant, alertId, cancellationToken);
        return detail is null
            ? NoSuchAlert(alertId)
            : TypedResults.Ok(new AlertDetailDto(AlertJson(detail.Alert), [.. detail.Events.Select(AlertEventDto.From)]));
    }

    private static Task<IResult> AcknowledgeAsync(Guid alertId, AlertActionRequest? request, HttpContext http, AlertStore alerts,
        AlertLifecycle lifecycle, TimeProvider clock, CancellationToken cancellationToken) =>
        ChangeAsync(alertId, request?.Comment, false, "Acknowledging", http, alerts, clock,
            (alert, by, now, comment) => lifecycle.Acknowledge(alert, by, now, comment), cancellationToken);

    private static Task<IResult> ResolveAsync(Guid alertId, AlertActionRequest? request, HttpContext http, AlertStore alerts,
        AlertLifecycle lifecycle, TimeProvider clock, CancellationToken cancellationToken) =>
        ChangeAsync(alertId, request?.Comment, false, "Resolving", http, alerts, clock,
            (alert, by, now, comment) => lifecycle.Resolve(alert, by, now, comment), cancellationToken);

    private static Task<IResult> CommentAsync(Guid alertId, AlertCommentRequest request, HttpContext http, AlertStore alerts,
        AlertLifecycle lifecycle, TimeProvider clock, CancellationToken cancellationToken) =>
        ChangeAsync(alertId, request.Comment, true, "Commenting on", http, alerts, clock,
            (alert, by, now, comment) => lifecycle.Comment(alert, by, now, comment!), cancellationToken);

    /// <summary>
    /// An operator's action: the lifecycle decides on the locked row; its events are stored (and the notifying ones
    /// queued in the outbox) in the same transaction. A refusal (acknowledging a resolved alert) is 409 with its reason.
    /// </summary>
    private static async Task<IResult> ChangeAsync(Guid alertId, string? rawComment, bool commentRequired, string verb,
        HttpContext http, AlertStore alerts, TimeProvider clock, Func<Alert, string, DateTimeOffset, string?, AlertChange> action,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Operator) is not { } tenant)
        {
            return Problems.Forbidden($"{verb} alerts needs an operator or admin key.");
        }
        if (CheckComment(rawComment, commentRequired, out var comment) is { } badComment)
        {
            return Problems.Invalid("comment", badComment);
        }
        var by = http.Principal().Name;
        var now = clock.GetUtcNow();
        string? refused = null;
        AlertRow? changed = null;
        var found = await alerts.UpdateAlertAsync(tenant, alertId, row =>
        {
            var (write, reason) = AlertRecords.Change(tenant, row, alert => action(alert, by, now, comment));
            refused = reason;
            changed = write.Alerts.Count > 0 ? write.Alerts[0] : row;
            return write;
        }, cancellationToken);
        if (!found)
        {
            return NoSuchAlert(alertId);
        }
        return refused is not null ? Problems.Conflict(refused) : TypedResults.Ok(AlertJson(changed!));
    }

    /// <summary>Free text of an operator: up to 2000 characters, line breaks and tabs allowed, nothing hidden.</summary>
    internal static string? CheckComment(string? value, bool required, out string? trimmed)
    {
        trimmed = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        if (trimmed is null)
        {
            return required ? "comment is required (1 to 2000 characters)" : null;
        }
        if (trimmed.Length > MaxCommentLength)
        {
            return $"comment is {trimmed.Length} characters long; at most {MaxCommentLength} are allowed";
        }
        var visible = trimmed.Replace('\n', ' ').Replace('\r', ' ').Replace('\t', ' ');
        return TextRules.ForbiddenCharacter(visible) is { } problem ? $"comment {problem}" : null;
    }

    private static IResult NoSuchAlert(Guid alertId) => Problems.NotFound($"no alert {alertId} in this tenant");

    /// <summary>The alert as Pdm.Alerts writes it everywhere (webhook payloads too): severity and status as text, with its explanation.</summary>
    private static JsonElement AlertJson(AlertRow row) =>
        JsonSerializer.SerializeToElement(AlertRecords.ToAlert(row), AlertsJson.Default.Alert);

    /// <summary>A comma-separated list of known values (case-insensitive), normalised to their spelling.</summary>
    private static string? List(string? raw, string name, string[] known, out IReadOnlyList<string> values)
    {
        values = [];
        if (raw is null)
        {
            return null;
        }
        var list = new List<string>();
        foreach (var item in raw.Split(',', StringSplitOptions.TrimEntries))
        {
            var match = known.FirstOrDefault(k => string.Equals(k, item, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return $"{name} takes a comma-separated list of {string.Join(", ", known)} (got '{TextRules.Shorten(item)}')";
            }
            list.Add(match);
        }
        values = [.. list.Distinct()];
        return null;
    }
}

/// <param name="Next">The cursor of the next page; null on the last one.</param>
internal sealed record AlertsPage(IReadOnlyList<JsonElement> Alerts, string? Next);

internal sealed record AlertDetailDto(JsonElement Alert, IReadOnlyList<AlertEventDto> Events);

/// <summary>One transition of an alert, as the audit trail shows it.</summary>
internal sealed record AlertEventDto(Guid Id, string Type, DateTimeOffset At, string? By, string? Comment, string Severity,
    string? PreviousSeverity, string Status, bool Notifies)
{
    public static AlertEventDto From(AlertEventRow row)
    {
        var e = JsonSerializer.Deserialize(row.PayloadJson, AlertsJson.Default.AlertEvent)
            ?? throw new FormatException($"Alert event {row.Id} has no payload.");
        return new AlertEventDto(row.Id, row.Type, row.At, row.Actor, e.Comment, AlertRecords.Text(e.Alert.Severity),
            e.PreviousSeverity is { } previous ? AlertRecords.Text(previous) : null, AlertRecords.Text(e.Alert.Status), e.Notifies);
    }
}

/// <summary>An acknowledgement or resolution, with an optional comment.</summary>
internal sealed record AlertActionRequest(string? Comment);

internal sealed record AlertCommentRequest(string Comment);
