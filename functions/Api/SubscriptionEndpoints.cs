using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Webhooks;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// Settings of webhook subscriptions made through the API (environment variable <c>Pdm__Webhooks__SecretGracePeriod</c>);
/// the delivery settings of the same section, <c>AllowHttp</c> and <c>AllowLoopback</c> among them, are Pdm.Webhooks'.
/// </summary>
public sealed class WebhookSubscriptionOptions
{
    public const string Section = "Pdm:Webhooks";

    /// <summary>How long the secret before a rotation still signs, so receivers can switch to the new one.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan SecretGracePeriod { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>
/// A tenant's webhook subscriptions: listed and read by any tenant key, created, replaced, deleted and given a new
/// secret by an admin key. The signing secret is shown once, when it is made (create, rotate-secret), and is
/// stored only encrypted; no read returns it. URLs are checked when saved (https, no internal addresses) and again
/// by the delivery client at every connect.
/// </summary>
internal static class SubscriptionEndpoints
{
    private const int MaxSubscriptionsPerTenant = 100;
    private const int MaxFilterValues = 100;
    private const int MaxDescriptionLength = 200;
    private static readonly string[] Severities = [.. AlertRecords.Names<AlertSeverity>()];
    private static readonly string[] EventTypes = [.. AlertRecords.NotifyingEventTypes];

    public static void MapWebhookSubscriptions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/webhooks", CreateAsync)
            .WithName("CreateWebhook").WithSummary("Subscribe a URL to alert events (admin); the signing secret is in this answer only").Produces<SubscriptionDto>(StatusCodes.Status201Created);
        v1.MapGet("/webhooks", ListAsync)
            .WithName("ListWebhooks").WithSummary("The tenant's webhook subscriptions").Produces<IReadOnlyList<SubscriptionDto>>();
        v1.MapGet("/webhooks/{subscriptionId:guid}", GetAsync)
            .WithName("GetWebhook").WithSummary("One webhook subscription").Produces<SubscriptionDto>();
        v1.MapPut("/webhooks/{subscriptionId:guid}", ReplaceAsync)
            .WithName("ReplaceWebhook").WithSummary("Change a subscription's URL, filters or state (admin)").Produces<SubscriptionDto>();
        v1.MapDelete("/webhooks/{subscriptionId:guid}", DeleteAsync)
            .WithName("DeleteWebhook").WithSummary("Delete a subscription (admin)").Produces(StatusCodes.Status204NoContent);
        v1.MapPost("/webhooks/{subscriptionId:guid}/rotate-secret", RotateSecretAsync)
            .WithName("RotateWebhookSecret").WithSummary("A new signing secret; the old one stays valid for a while (admin)").Produces<RotatedSecret>();
    }

    private static async Task<IResult> CreateAsync(WebhookSubscriptionRequest request, HttpContext http, SubscriptionStore subscriptions,
        TenantStore tenants, IWebhookSecretProtector protector, IWebhookHostResolver resolver, IOptions<WebhookDeliveryOptions> delivery,
        IOptions<WebhookSubscriptionOptions> options, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Creating webhook subscriptions needs an admin key.");
        }
        var (settings, problem) = await CheckAsync(request, resolver, delivery.Value, options.Value, cancellationToken);
        if (settings is null)
        {
            return problem!;
        }
        if ((await subscriptions.ListAsync(tenant, cancellationToken)).Count >= MaxSubscriptionsPerTenant)
        {
            return Problems.Conflict($"this tenant has {MaxSubscriptionsPerTenant} subscriptions, the most it may have: delete one first");
        }
        // The id is chosen here so the secret can be encrypted bound to it before the row exists.
        var id = Guid.CreateVersion7();
        var secret = WebhookSecret.Generate();
        var row = await subscriptions.CreateAsync(tenant, id, settings, protector.Protect(secret, ProtectorContext(id)), cancellationToken);
        await AuditAsync(tenants, tenant, http, "webhook.create", row, cancellationToken);
        return TypedResults.Created($"/api/v1/webhooks/{row.Id}", SubscriptionDto.From(row, secret.Encoded));
    }

    private static async Task<IResult> ListAsync(HttpContext http, SubscriptionStore subscriptions, CancellationToken cancellationToken) =>
        TenantOf(http) is { } tenant
            ? TypedResults.Ok((await subscriptions.ListAsync(tenant, cancellationToken)).Select(row => SubscriptionDto.From(row)).ToList())
            : TenantKeyRequired();

    private static async Task<IResult> GetAsync(Guid subscriptionId, HttpContext http, SubscriptionStore subscriptions,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        return await subscriptions.GetAsync(tenant, subscriptionId, cancellationToken) is { } row
            ? TypedResults.Ok(SubscriptionDto.From(row))
            : NoSuchSubscription(subscriptionId);
    }

    /// <summary>Replaces every setting (url, description, filters, enabled, allowLoopback); the secrets stay.</summary>
    private static async Task<IResult> ReplaceAsync(Guid subscriptionId, WebhookSubscriptionRequest request, HttpContext http,
        SubscriptionStore subscriptions, TenantStore tenants, IWebhookHostResolver resolver, IOptions<WebhookDeliveryOptions> delivery,
        IOptions<WebhookSubscriptionOptions> options, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Changing webhook subscriptions needs an admin key.");
        }
        var (settings, problem) = await CheckAsync(request, resolver, delivery.Value, options.Value, cancellationToken);
        if (settings is null)
        {
            return problem!;
        }
        if (await subscriptions.UpdateAsync(tenant, subscriptionId, settings, cancellationToken) is not { } row)
        {
            return NoSuchSubscription(subscriptionId);
        }
        await AuditAsync(tenants, tenant, http, "webhook.update", row, cancellationToken);
        return TypedResults.Ok(SubscriptionDto.From(row));
    }

    private static async Task<IResult> DeleteAsync(Guid subscriptionId, HttpContext http, SubscriptionStore subscriptions, TenantStore tenants,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Deleting webhook subscriptions needs an admin key.");
        }
        if (!await subscriptions.DeleteAsync(tenant, subscriptionId, cancellationToken))
        {
            return NoSuchSubscription(subscriptionId);
        }
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "webhook.delete", $"webhook/{subscriptionId}", null, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// A new signing secret, shown once. The one before keeps signing too for <c>Pdm__Webhooks__SecretGracePeriod</c>,
    /// so every delivery in between verifies with either; a second rotation within that period retires the oldest one.
    /// </summary>
    private static async Task<IResult> RotateSecretAsync(Guid subscriptionId, HttpContext http, SubscriptionStore subscriptions,
        TenantStore tenants, IWebhookSecretProtector protector, TimeProvider clock, IOptions<WebhookSubscriptionOptions> options,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Rotating webhook secrets needs an admin key.");
        }
        var secret = WebhookSecret.Generate();
        var validUntil = clock.GetUtcNow() + options.Value.SecretGracePeriod;
        var row = await subscriptions.RotateSecretAsync(tenant, subscriptionId, protector.Protect(secret, ProtectorContext(subscriptionId)),
            validUntil, cancellationToken);
        if (row is null)
        {
            return NoSuchSubscription(subscriptionId);
        }
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "webhook.rotate-secret", $"webhook/{subscriptionId}",
            JsonSerializer.Serialize(new Dictionary<string, DateTimeOffset> { ["previousSecretValidUntil"] = validUntil }), cancellationToken);
        return TypedResults.Ok(new RotatedSecret(row.Id, secret.Encoded, validUntil));
    }

    /// <summary>What the protector binds a subscription's secrets to: its id ("D" form). Delivery unprotects with the same.</summary>
    public static string ProtectorContext(Guid subscriptionId) => subscriptionId.ToString("D");

    /// <summary>Every field of a create or replace, checked in order; the URL last, since checking it may ask DNS.</summary>
    private static async Task<(WebhookSubscriptionSettings? Settings, IResult? Problem)> CheckAsync(WebhookSubscriptionRequest request,
        IWebhookHostResolver resolver, WebhookDeliveryOptions delivery, WebhookSubscriptionOptions options, CancellationToken cancellationToken)
    {
        string? description = null;
        if (request.Description is not null && !string.IsNullOrWhiteSpace(request.Description)
            && TextRules.CheckName(request.Description, "description", MaxDescriptionLength, out description) is { } badDescription)
        {
            return (null, Problems.Invalid("description", badDescription));
        }
        var filters = request.Filters ?? new WebhookFiltersRequest(null, null, null, null);
        if (Known(filters.Severities, "filters.severities", Severities, out var severities) is { } badSeverity)
        {
            return (null, Problems.Invalid(badSeverity.Field, badSeverity.Reason));
        }
        if (Known(filters.EventTypes, "filters.eventTypes", EventTypes, out var eventTypes) is { } badType)
        {
            return (null, Problems.Invalid(badType.Field, badType.Reason));
        }
        if (Ids(filters.Machines, "filters.machines", out var machines) is { } badMachine)
        {
            return (null, Problems.Invalid(badMachine.Field, badMachine.Reason));
        }
        if (Ids(filters.MachineKinds, "filters.machineKinds", out var machineKinds) is { } badKind)
        {
            return (null, Problems.Invalid(badKind.Field, badKind.Reason));
        }
        var allowLoopback = request.AllowLoopback ?? false;
        if (allowLoopback && !delivery.AllowLoopback)
        {
            return (null, Problems.Invalid("allowLoopback",
                "allowLoopback is for development receivers and needs the setting Pdm__Webhooks__AllowLoopback, which is off here"));
        }
        if (await WebhookUrlRules.RefusalAsync(request.Url, delivery.AllowHttp, allowLoopback, resolver, cancellationToken) is { } badUrl)
        {
            return (null, Problems.Invalid("url", badUrl));
        }
        return (new WebhookSubscriptionSettings
        {
            Url = request.Url!,
            Description = description,
            Filters = new SubscriptionFilters { Severities = severities, EventTypes = eventTypes, Machines = machines, MachineKinds = machineKinds },
            Enabled = request.Enabled ?? true,
            AllowLoopback = allowLoopback,
        }, null);
    }

    private static (string Field, string Reason)? Known(IReadOnlyList<string?>? values, string field, string[] known, out IReadOnlyList<string> result)
    {
        result = [];
        if (Count(values, field) is { } tooMany)
        {
            return tooMany;
        }
        var list = new List<string>();
        for (var i = 0; i < (values?.Count ?? 0); i++)
        {
            var match = known.FirstOrDefault(k => string.Equals(k, values![i]?.Trim(), StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return ($"{field}[{i}]", $"{field}[{i}] must be one of {string.Join(", ", known)} (got '{TextRules.Shorten(values![i] ?? "null")}')");
            }
            list.Add(match);
        }
        result = [.. list.Distinct()];
        return null;
    }

    private static (string Field, string Reason)? Ids(IReadOnlyList<string?>? values, string field, out IReadOnlyList<string> result)
    {
        result = [];
        if (Count(values, field) is { } tooMany)
        {
            return tooMany;
        }
        for (var i = 0; i < (values?.Count ?? 0); i++)
        {
            if (TextRules.CheckId(values![i], $"{field}[{i}]", TextRules.MaxIdLength) is { } problem)
            {
                return ($"{field}[{i}]", problem);
            }
        }
        result = [.. (values ?? []).Select(v => v!).Distinct(StringComparer.Ordinal)];
        return null;
    }

    private static (string Field, string Reason)? Count(IReadOnlyList<string?>? values, string field) =>
        values?.Count > MaxFilterValues ? (field, $"{field} has {values.Count} values; at most {MaxFilterValues} are allowed") : null;

    private static Task AuditAsync(TenantStore tenants, Guid tenant, HttpContext http, string action, WebhookSubscriptionRow row,
        CancellationToken cancellationToken) =>
        tenants.WriteAuditAsync(tenant, http.Principal().Name, action, $"webhook/{row.Id}",
            JsonSerializer.Serialize(new Dictionary<string, object> { ["url"] = row.Url, ["enabled"] = row.Enabled, ["allowLoopback"] = row.AllowLoopback }),
            cancellationToken);

    private static IResult NoSuchSubscription(Guid subscriptionId) => Problems.NotFound($"no webhook subscription {subscriptionId} in this tenant");
}

/// <summary>A subscription as created or replaced. Absent filters allow everything; <c>enabled</c> defaults to true.</summary>
internal sealed record WebhookSubscriptionRequest(string? Url, string? Description, WebhookFiltersRequest? Filters, bool? Enabled,
    bool? AllowLoopback);

/// <summary>Each list narrows what is delivered; an empty or absent list allows every value.</summary>
internal sealed record WebhookFiltersRequest(IReadOnlyList<string?>? Severities, IReadOnlyList<string?>? EventTypes,
    IReadOnlyList<string?>? Machines, IReadOnlyList<string?>? MachineKinds);

internal sealed record SubscriptionFiltersDto(IReadOnlyList<string> Severities, IReadOnlyList<string> EventTypes,
    IReadOnlyList<string> Machines, IReadOnlyList<string> MachineKinds);

/// <param name="Secret">Only in the answer to a create: the signing secret, shown this once.</param>
/// <param name="PreviousSecretValidUntil">While a rotation's grace period runs: until when the previous secret signs too.</param>
internal sealed record SubscriptionDto(Guid Id, string Url, string? Description, SubscriptionFiltersDto Filters, bool Enabled,
    bool AllowLoopback, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? PreviousSecretValidUntil,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret)
{
    public static SubscriptionDto From(WebhookSubscriptionRow row, string? secret = null) => new(row.Id, row.Url, row.Description,
        new SubscriptionFiltersDto(row.Filters.Severities, row.Filters.EventTypes, row.Filters.Machines, row.Filters.MachineKinds),
        row.Enabled, row.AllowLoopback, row.CreatedAt, row.UpdatedAt, row.PreviousSecretValidUntil, secret);
}

internal sealed record RotatedSecret(Guid Id, string Secret, DateTimeOffset PreviousSecretValidUntil);
