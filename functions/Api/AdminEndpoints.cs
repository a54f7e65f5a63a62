using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// The audit log of a tenant (admin keys), the model registry as integrators see it (any tenant role: models are
/// platform-wide and read-only here; promotion stays with `pdm model promote`, whose connection may write them), and
/// linking a tenant to its Microsoft Entra directory (platform admin).
/// </summary>
internal static class AdminEndpoints
{
    private const int MaxAuditEntries = 1000;
    private const int MaxActionLength = 63;

    public static void MapAdministration(this RouteGroupBuilder v1)
    {
        v1.MapGet("/audit-log", ListAuditAsync)
            .WithName("ListAuditLog").WithSummary("Who changed what in this tenant, newest first, a page at a time (admin)")
            .Produces<Page<AuditEntryDto>>();
        v1.MapGet("/models", ListModelsAsync)
            .WithName("ListModels").WithSummary("Registered models: each name with its kind, production version and version count")
            .Produces<IReadOnlyList<ModelSummary>>();
        v1.MapGet("/models/{name}/versions", ListModelVersionsAsync)
            .WithName("ListModelVersions").WithSummary("Every version of one model, newest first, with stage and metrics")
            .Produces<IReadOnlyList<ModelVersionDto>>();
        v1.MapPatch("/tenants/{tenantId:guid}", UpdateTenantAsync)
            .WithName("UpdateTenant").WithSummary("Link a tenant to its Microsoft Entra directory (platform admin)")
            .Produces<TenantDto>();
    }

    /// <summary>Filters: from/to on the time ([from, to)), actor and action (exact); cursor from the previous page.</summary>
    private static async Task<IResult> ListAuditAsync(string? from, string? to, string? actor, string? action, string? cursor, string? limit,
        HttpContext http, TenantStore tenants, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Reading the audit log needs an admin key of the tenant.");
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
        if (TextRules.CheckOptional(actor, "actor", TextRules.MaxNameLength + 10) is { } badActor)
        {
            return Problems.Invalid("actor", badActor);
        }
        if (action is not null && TextRules.CheckId(action, "action", MaxActionLength) is { } badAction)
        {
            return Problems.Invalid("action", badAction);
        }
        if (Paging.Check(cursor, limit, 100, MaxAuditEntries, out var after, out var rows) is { } problem)
        {
            return problem;
        }
        long? afterId = null;
        if (after is { } last)
        {
            if (!long.TryParse(last.Id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                return Problems.Invalid("cursor", Paging.InvalidCursor);
            }
            afterId = id;
        }
        var entries = await tenants.ListAuditAsync(tenant, new AuditQuery
        {
            From = fromTime,
            To = toTime,
            Actor = actor?.Trim(),
            Action = action,
            AfterAt = after?.At,
            AfterId = afterId,
            Limit = rows + 1,
        }, cancellationToken);
        return TypedResults.Ok(Paging.Build(http, [.. entries.Select(AuditEntryDto.From)], rows,
            e => new PageCursor(e.At, e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static async Task<IResult> ListModelsAsync(HttpContext http, ModelStore models, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is null)
        {
            return TenantKeyRequired();
        }
        var versions = await models.ListModelsAsync(null, cancellationToken);
        return TypedResults.Ok(versions.GroupBy(v => v.Name, StringComparer.Ordinal).Select(g => new ModelSummary(g.Key, g.First().Kind,
            g.FirstOrDefault(v => v.Stage == ModelStage.Production)?.Version, g.Count(), g.Max(v => v.CreatedAt))).ToList());
    }

    private static async Task<IResult> ListModelVersionsAsync(string name, HttpContext http, ModelStore models, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is null)
        {
            return TenantKeyRequired();
        }
        if (TextRules.CheckId(name, "name", 63) is { } badName)
        {
            return Problems.Invalid("name", badName);
        }
        var versions = await models.ListModelsAsync(name, cancellationToken);
        return versions.Count == 0
            ? Problems.NotFound($"no model named '{name}' is registered")
            : TypedResults.Ok(versions.Select(ModelVersionDto.From).ToList());
    }

    private static async Task<IResult> UpdateTenantAsync(Guid tenantId, UpdateTenantRequest request, HttpContext http, TenantStore tenants,
        CancellationToken cancellationToken)
    {
        var caller = http.Principal();
        if (caller.Role != ApiKeyRole.PlatformAdmin)
        {
            return Problems.Forbidden("Only a platform-admin key links tenants to Entra directories.");
        }
        Guid? directory = null;
        if (request.EntraTenantId is { } text)
        {
            if (!Guid.TryParse(text, out var parsed) || parsed == Guid.Empty)
            {
                return Problems.Invalid("entraTenantId", $"entraTenantId must be a directory (tenant) id, a GUID, or null to unlink (got '{TextRules.Shorten(text)}')");
            }
            directory = parsed;
        }
        if (!await tenants.SetEntraTenantAsync(tenantId, directory, cancellationToken))
        {
            return Problems.NotFound($"tenant {tenantId} does not exist");
        }
        await tenants.WriteAuditAsync(tenantId, caller.Name, "tenant.entra-link", tenantId.ToString(),
            System.Text.Json.JsonSerializer.Serialize(new { entraTenantId = directory }), cancellationToken);
        var tenant = (await tenants.GetTenantAsync(tenantId, cancellationToken))!;
        return TypedResults.Ok(new TenantDto(tenant.Id, tenant.Name, tenant.CreatedAt, directory));
    }
}

/// <param name="EntraTenantId">The Entra directory id (token claim tid) whose users act for the tenant; null unlinks.</param>
internal sealed record UpdateTenantRequest(string? EntraTenantId);

internal sealed record TenantDto(Guid Id, string Name, DateTimeOffset CreatedAt, Guid? EntraTenantId);

/// <param name="Details">Whatever else explains the action (the fields a PATCH sent, a key's name), or null.</param>
internal sealed record AuditEntryDto(long Id, DateTimeOffset At, string Actor, string Action, string Target, System.Text.Json.JsonElement? Details)
{
    public static AuditEntryDto From(AuditEntry entry) => new(entry.Id, entry.At, entry.Actor, entry.Action, entry.Target,
        entry.DetailsJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(entry.DetailsJson));
}

/// <param name="ProductionVersion">The version in production, or null when none is.</param>
internal sealed record ModelSummary(string Name, string Kind, int? ProductionVersion, int Versions, DateTimeOffset LatestCreatedAt);

internal sealed record ModelVersionDto(string Name, int Version, string Kind, string Stage, string ArtifactSha256, long ArtifactSize,
    string TrainingDataHash, IReadOnlyDictionary<string, double> Metrics, IReadOnlyDictionary<string, string> Parameters,
    DateTimeOffset CreatedAt, DateTimeOffset StageChangedAt)
{
    public static ModelVersionDto From(ModelVersion v) => new(v.Name, v.Version, v.Kind, ModelStore.StageText(v.Stage), v.ArtifactSha256,
        v.ArtifactSize, v.TrainingDataHash, v.Metrics, v.Parameters, v.CreatedAt, v.StageChangedAt);
}
