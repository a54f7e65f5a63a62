using Pdm.Storage;
using static Pdm.Storage.ApiKeyRole;

namespace Pdm.Functions.Tests;

/// <summary>
/// Who may call what: one row per route the function app maps, by method and route pattern as the app registers
/// them. <see cref="AuthorizationTableTests"/> walks the app's own endpoint table and fails on a route without a row,
/// so a new endpoint cannot ship without saying who may call it. To add a route: add its row here (and a value for
/// any new path parameter in <see cref="AuthorizationTableTests"/>' PathValueAsync; a body if it takes one).
/// </summary>
public static class AuthorizationTable
{
    private static readonly ApiKeyRole[] AnyTenantRole = [Viewer, Operator, Admin];
    private static readonly ApiKeyRole[] OperatorOrAdmin = [Operator, Admin];

    public static IReadOnlyList<RouteAccess> Routes { get; } =
    [
        // Invocations the Functions host posts; the host proxies only /api to the handler, which listens on loopback.
        RouteAccess.Host("GET /"),
        RouteAccess.Host("POST /Ingest"),
        RouteAccess.Host("POST /ReplayDeadLetters"),
        RouteAccess.Host("POST /Predict"),
        RouteAccess.Host("POST /AlertTick"),
        RouteAccess.Host("POST /PublishAlerts"),
        RouteAccess.Host("POST /DeliverWebhook"),
        RouteAccess.Host("POST /Rollup"),
        RouteAccess.Host("POST /Retention"),

        RouteAccess.Public("GET /api/health"),
        // The dashboard's files: public, the page signs in with an API key of its own (sessionStorage).
        RouteAccess.Public("GET /api/dashboard"),
        RouteAccess.Public("GET /api/dashboard/{**path}"),
        // How the page signs in with Entra ID where configured: a client id, an authority, scopes; nothing secret.
        RouteAccess.Public("GET /api/dashboard/sign-in.json"),
        RouteAccess.Public("GET /api/v1/openapi.json"),

        RouteAccess.Keyed("POST /api/v1/tenants", [PlatformAdmin], () => new { name = Unique("auth-tenant") }),
        RouteAccess.Keyed("GET /api/v1/tenants", [PlatformAdmin, .. AnyTenantRole]),
        RouteAccess.Keyed("POST /api/v1/tenants/{tenantId:guid}/api-keys", [PlatformAdmin, Admin],
            () => new { name = "auth-table", role = "viewer" }),
        RouteAccess.Keyed("GET /api/v1/tenants/{tenantId:guid}/api-keys", [PlatformAdmin, Admin]),
        RouteAccess.Keyed("DELETE /api/v1/tenants/{tenantId:guid}/api-keys/{keyId:guid}", [PlatformAdmin, Admin]),
        // Sets and clears the link again: no other test uses tenant A's Entra link.
        RouteAccess.Keyed("PATCH /api/v1/tenants/{tenantId:guid}", [PlatformAdmin], () => new { entraTenantId = (string?)null }),

        RouteAccess.Keyed("POST /api/v1/devices", OperatorOrAdmin, () => new { deviceId = Unique("auth-new") }),
        RouteAccess.Keyed("GET /api/v1/devices", AnyTenantRole),
        RouteAccess.Keyed("DELETE /api/v1/devices/{deviceId}", [Admin]),
        RouteAccess.Keyed("POST /api/v1/devices/{deviceId}/edge-deployment", [Admin], EdgeDeploymentApiTests.Body),

        RouteAccess.Keyed("GET /api/v1/machines", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/machines/{machineId}", AnyTenantRole),
        RouteAccess.Keyed("PATCH /api/v1/machines/{machineId}", [Admin], () => new { location = "Hall 2, line 3", criticality = "HIGH" }),
        RouteAccess.Keyed("GET /api/v1/machine-kinds", AnyTenantRole),
        RouteAccess.Keyed("PUT /api/v1/machine-kinds/{kind}", [Admin], () => new { isoClass = "class2" }) with { PerTenantName = true },
        RouteAccess.Keyed("GET /api/v1/models", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/models/{name}/versions", AnyTenantRole) with { PlatformWide = true },
        RouteAccess.Keyed("GET /api/v1/audit-log", [Admin]),
        RouteAccess.Keyed("GET /api/v1/machines/{machineId}/readings", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/machines/{machineId}/scores", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/machines/{machineId}/predictions", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/predictions", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/rejects", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/fleet", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/machines/{machineId}/series", AnyTenantRole),

        RouteAccess.Keyed("GET /api/v1/alert-rules", AnyTenantRole),
        // Sent without If-Match: that succeeds only while tenants A and B have no rule set, so no other test may save
        // theirs (the alert-rule tests use tenants of their own).
        RouteAccess.Keyed("PUT /api/v1/alert-rules", [Admin], () => System.Text.Json.Nodes.JsonNode.Parse(Pdm.Alerts.Rules.DefaultRules.Json)!),
        RouteAccess.Keyed("GET /api/v1/alert-rules/defaults", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/alerts", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/alerts/{alertId:guid}", AnyTenantRole),
        RouteAccess.Keyed("POST /api/v1/alerts/{alertId:guid}/acknowledge", OperatorOrAdmin, () => new { comment = "looking at it" }),
        RouteAccess.Keyed("POST /api/v1/alerts/{alertId:guid}/resolve", OperatorOrAdmin, () => new { comment = "bearing replaced" }),
        RouteAccess.Keyed("POST /api/v1/alerts/{alertId:guid}/comments", OperatorOrAdmin, () => new { comment = "ordered a spare" }),

        RouteAccess.Keyed("POST /api/v1/webhooks", [Admin], () => new { url = "https://receiver.public.test/hooks/pdm" }),
        RouteAccess.Keyed("GET /api/v1/webhooks", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/webhooks/{subscriptionId:guid}", AnyTenantRole),
        RouteAccess.Keyed("PUT /api/v1/webhooks/{subscriptionId:guid}", [Admin],
            () => new { url = "https://receiver.public.test/hooks/other", filters = new { severities = new[] { "HIGH" } } }),
        RouteAccess.Keyed("DELETE /api/v1/webhooks/{subscriptionId:guid}", [Admin]),
        RouteAccess.Keyed("POST /api/v1/webhooks/{subscriptionId:guid}/rotate-secret", [Admin]),

        RouteAccess.Keyed("GET /api/v1/webhooks/{subscriptionId:guid}/deliveries", AnyTenantRole),
        RouteAccess.Keyed("GET /api/v1/webhooks/dead-letters", AnyTenantRole),
        RouteAccess.Keyed("POST /api/v1/webhooks/dead-letters/{deadLetterId:guid}/replay", OperatorOrAdmin),
        RouteAccess.Keyed("POST /api/v1/webhooks/dead-letters/replay", OperatorOrAdmin, () => new { }),
    ];

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

public enum RouteKind
{
    /// <summary>Posted by the Functions host (trigger invocations, its readiness probe): no key, never proxied from outside.</summary>
    Host,

    /// <summary>Anyone, without a key.</summary>
    Public,

    /// <summary>Behind the API key; the listed roles may call it, every other key gets 403.</summary>
    Keyed,
}

/// <param name="Route">"METHOD pattern", the pattern exactly as the app maps it.</param>
/// <param name="Roles">Roles whose key may call the route (for tenant roles: a key of the tenant whose data it is).</param>
/// <param name="Body">A valid JSON body, for routes that bind one.</param>
public sealed record RouteAccess(string Route, RouteKind Kind, IReadOnlyList<ApiKeyRole> Roles, Func<object>? Body = null)
{
    /// <summary>The path names a platform-wide resource (a model), not one of a tenant: every tenant's callers may read it.</summary>
    public bool PlatformWide { get; init; }

    /// <summary>The path names something every tenant has its own of (a machine kind's class): another tenant's caller
    /// changes its own, never tenant A's.</summary>
    public bool PerTenantName { get; init; }

    public static RouteAccess Host(string route) => new(route, RouteKind.Host, []);

    public static RouteAccess Public(string route) => new(route, RouteKind.Public, []);

    public static RouteAccess Keyed(string route, IReadOnlyList<ApiKeyRole> roles, Func<object>? body = null) =>
        new(route, RouteKind.Keyed, roles, body);

    public string Method => Route[..Route.IndexOf(' ', StringComparison.Ordinal)];

    public string Pattern => Route[(Route.IndexOf(' ', StringComparison.Ordinal) + 1)..];

    public override string ToString() => Route;
}
