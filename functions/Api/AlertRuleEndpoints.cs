using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// A tenant's alert rule set: read by any tenant key, replaced by an admin key. The revision is the ETag; a
/// replacement names the revision it was made from (If-Match), so two editors cannot overwrite each other unseen.
/// </summary>
internal static class AlertRuleEndpoints
{
    private const int MaxRuleSetBytes = 256 * 1024;

    public static void MapAlertRules(this RouteGroupBuilder v1)
    {
        v1.MapGet("/alert-rules", GetRuleSetAsync)
            .WithName("GetAlertRules").WithSummary("The tenant's alert rule set; its revision is the ETag").Produces<System.Text.Json.JsonElement>();
        // Overrides per machine make a rule set grow with the fleet: more room than the API's other bodies.
        v1.MapPut("/alert-rules", ReplaceRuleSetAsync)
            .WithName("ReplaceAlertRules").WithSummary("Replace the alert rule set (admin; If-Match)").Produces<System.Text.Json.JsonElement>().WithMetadata(new RequestBodyLimit(MaxRuleSetBytes));
        v1.MapGet("/alert-rules/defaults", GetDefaults)
            .WithName("GetDefaultAlertRules").WithSummary("The rule set a tenant starts with").Produces<System.Text.Json.JsonElement>();
    }

    /// <summary>The tenant's rule set, or the defaults (revision 0) when it has never saved one.</summary>
    private static async Task<IResult> GetRuleSetAsync(HttpContext http, AlertStore alerts, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        var stored = await alerts.GetRuleSetAsync(tenant, cancellationToken);
        return RuleSetResult(http, stored?.DocumentJson ?? DefaultsJson, stored?.Revision ?? 0, StatusCodes.Status200OK);
    }

    private static IResult GetDefaults(HttpContext http) =>
        TenantOf(http) is null ? TenantKeyRequired() : TypedResults.Text(DefaultsJson, "application/json", Encoding.UTF8);

    private static async Task<IResult> ReplaceRuleSetAsync(HttpContext http, AlertStore alerts, TenantStore tenants,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Changing alert rules needs an admin key.");
        }
        if (!http.Request.HasJsonContentType())
        {
            return TypedResults.Problem($"Send the rule set as application/json (got '{TextRules.Shorten(http.Request.ContentType ?? "no content type", 100)}').",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }
        var ifMatch = http.Request.Headers.IfMatch.ToString();
        long? expected = null;
        if (ifMatch.Length > 0 && ifMatch != "*")
        {
            if (ParseRevision(ifMatch) is not { } revision)
            {
                return Problems.Invalid("If-Match", $"If-Match must be the ETag of the rule set you changed, such as \"3\" (got '{TextRules.Shorten(ifMatch)}')");
            }
            expected = revision;
        }
        var current = await alerts.GetRuleSetAsync(tenant, cancellationToken);
        if (ifMatch.Length == 0 && current is not null)
        {
            return TypedResults.Problem(
                $"This tenant's rule set is at revision {current.Revision}: send If-Match: \"{current.Revision}\" with the ETag of the version you changed.",
                statusCode: StatusCodes.Status428PreconditionRequired, title: "Precondition required");
        }
        // "*" means "whatever is stored": there must be something stored.
        expected ??= ifMatch == "*" ? current?.Revision ?? -1 : 0;

        string body;
        using (var reader = new StreamReader(http.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(cancellationToken);
        }
        var parsed = RuleSetJson.Parse(body);
        if (parsed.RuleSet is not { } ruleSet)
        {
            var errors = parsed.Errors
                .GroupBy(e => e.Path.Length == 0 ? "$" : e.Path, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(e => e.Reason).ToArray(), StringComparer.Ordinal);
            return TypedResults.ValidationProblem(errors,
                detail: $"The rule set has {parsed.Errors.Count} problem(s); the first: {parsed.Errors[0]}. Nothing was saved.");
        }
        if (expected < 0)
        {
            return PreconditionFailed(http, 0, "If-Match: * needs a stored rule set, and this tenant has none yet (it uses the defaults, revision 0)");
        }
        var caller = http.Principal();
        var result = await alerts.SaveRuleSetAsync(tenant, RuleSetJson.Serialize(ruleSet), expected.Value, caller.Name, cancellationToken);
        if (result.Saved is not { } saved)
        {
            return PreconditionFailed(http, result.CurrentRevision,
                $"the rule set is at revision {result.CurrentRevision}, not {expected}: someone saved it since you read it; GET it again and reapply your change");
        }
        await tenants.WriteAuditAsync(tenant, caller.Name, "alert-rules.update", "alert-rules",
            JsonSerializer.Serialize(new Dictionary<string, long> { ["revision"] = saved.Revision }), cancellationToken);
        return RuleSetResult(http, saved.DocumentJson, saved.Revision, StatusCodes.Status200OK);
    }

    /// <summary>The defaults as the API writes every rule set (RuleSetJson's form).</summary>
    private static readonly string DefaultsJson = RuleSetJson.Serialize(DefaultRules.Create());

    public static string ETag(long revision) => string.Create(CultureInfo.InvariantCulture, $"\"{revision}\"");

    /// <summary>A strong ETag <c>"n"</c> (a weak one never matches If-Match).</summary>
    private static long? ParseRevision(string value)
    {
        var text = value.Trim();
        return text.Length >= 3 && text[0] == '"' && text[^1] == '"'
            && long.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? revision
            : null;
    }

    private static ContentHttpResult RuleSetResult(HttpContext http, string documentJson, long revision, int status)
    {
        http.Response.Headers.ETag = ETag(revision);
        return TypedResults.Text(documentJson, "application/json", Encoding.UTF8, status);
    }

    private static ProblemHttpResult PreconditionFailed(HttpContext http, long currentRevision, string detail)
    {
        http.Response.Headers.ETag = ETag(currentRevision);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed");
    }
}
