using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pdm.Storage;
using Xunit.Abstractions;

namespace Pdm.Functions.Tests;

/// <summary>
/// Every route the app maps (read from its endpoint data source) × {no key, a key of every role, another tenant's
/// key}, answered as <see cref="AuthorizationTable"/> declares: allowed roles succeed, other keys get 403, no key 401,
/// and another tenant's key gets 403/404 for this tenant's resources and never any of its data. Requests are valid
/// (real tenant, key, device and machine ids, valid bodies) so that only authorization decides the answer.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed partial class AuthorizationTableTests(ApiFixture fixture, ITestOutputHelper output)
{
    private const string OtherTenant = "other-tenant-admin";

    [Fact]
    public void Every_mapped_route_has_an_authorization_entry_that_matches_how_it_is_mapped()
    {
        var declared = AuthorizationTable.Routes.ToDictionary(r => r.Route, StringComparer.Ordinal);
        Assert.Equal(declared.Count, AuthorizationTable.Routes.Count);
        var mapped = MappedRoutes(fixture.Factory.Services);
        var problems = new List<string>();
        foreach (var (route, endpoint) in mapped)
        {
            if (!declared.TryGetValue(route, out var access))
            {
                problems.Add($"new endpoint {route} has no authorization entry: add a row to AuthorizationTable");
                continue;
            }
            var requiresKey = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == "ApiKey")
                && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;
            var underApi = access.Pattern.StartsWith("/api/", StringComparison.Ordinal);
            if (access.Kind == RouteKind.Keyed && !requiresKey)
            {
                problems.Add($"{route} is declared keyed but is mapped without RequireApiKey");
            }
            if (access.Kind != RouteKind.Keyed && requiresKey)
            {
                problems.Add($"{route} is declared {access.Kind} but is mapped behind the API key");
            }
            if (access.Kind == RouteKind.Host && underApi)
            {
                problems.Add($"{route} is declared host-only but the host proxies every /api route from outside");
            }
            if (access.Kind != RouteKind.Host && !underApi)
            {
                problems.Add($"{route} is declared {access.Kind} but is not under /api, so no client outside the host reaches it");
            }
        }
        problems.AddRange(declared.Keys.Except(mapped.Select(m => m.Route)).Select(r => $"{r} is declared but not mapped (remove its row)"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Every_route_answers_every_caller_as_the_authorization_table_says()
    {
        var callers = Callers();
        var tenantA = await TenantAResources.CreateAsync(fixture);
        var declared = AuthorizationTable.Routes.ToDictionary(r => r.Route, StringComparer.Ordinal);
        var failures = new List<string>();
        var sent = 0;
        foreach (var (route, _) in MappedRoutes(fixture.Factory.Services))
        {
            var access = declared.GetValueOrDefault(route);
            if (access is null || access.Kind == RouteKind.Host)
            {
                continue; // A missing row fails the other test; host invocations are not callable from outside.
            }
            foreach (var caller in callers)
            {
                var path = await PathAsync(access.Pattern, tenantA);
                using var client = fixture.Factory.Client(caller.Key);
                using var request = new HttpRequestMessage(new HttpMethod(access.Method), path.TrimStart('/'));
                if (access.Body is { } body)
                {
                    request.Content = JsonContent.Create(body());
                }
                using var response = await client.SendAsync(request);
                sent++;
                var status = (int)response.StatusCode;
                var text = await response.Content.ReadAsStringAsync();
                var expected = Expected(access, caller);
                if (!expected.Allows(status))
                {
                    failures.Add($"{access.Method} {path} as {caller.Name}: expected {expected.Text}, got {status}: {Shorten(text)}");
                }
                // An id the caller sent may come back in the problem's detail; anything else of tenant A may not.
                if (caller.Name is OtherTenant or "anonymous"
                    && tenantA.Markers.FirstOrDefault(m => !path.Contains(m, StringComparison.Ordinal) && text.Contains(m, StringComparison.OrdinalIgnoreCase)) is { } leaked)
                {
                    failures.Add($"{access.Method} {path} as {caller.Name}: the answer holds tenant A's '{leaked}': {Shorten(text)}");
                }
            }
        }
        output.WriteLine($"{sent} requests, {callers.Count} callers, {failures.Count} failures");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Routes as the app maps them, one per method: "METHOD pattern".</summary>
    private static List<(string Route, RouteEndpoint Endpoint)> MappedRoutes(IServiceProvider services) =>
        [.. services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(method => ($"{method} {e.RoutePattern.RawText}", e)))];

    /// <summary>No key, a key of tenant A (or the platform) for every role there is, and another tenant's admin key.</summary>
    private List<Caller> Callers()
    {
        var callers = new List<Caller> { new("anonymous", null, null) };
        foreach (var role in Enum.GetValues<ApiKeyRole>())
        {
            var name = ApiKeyRoles.Name(role);
            Assert.True(fixture.Keys.TryGetValue(name, out var key), $"ApiFixture has no key of role {name}: add one");
            callers.Add(new Caller(name, key, role));
        }
        callers.Add(new Caller(OtherTenant, fixture.Keys[OtherTenant], ApiKeyRole.Admin));
        return callers;
    }

    private static Expectation Expected(RouteAccess access, Caller caller)
    {
        if (access.Kind == RouteKind.Public)
        {
            return Expectation.Success;
        }
        if (caller.Role is not { } role)
        {
            return Expectation.Status(401);
        }
        if (!access.Roles.Contains(role))
        {
            return Expectation.Status(403);
        }
        // Every path parameter names one of tenant A's resources: another tenant may not touch it, nor learn it exists.
        return caller.Name == OtherTenant && access.Pattern.Contains('{', StringComparison.Ordinal) && !access.PlatformWide && !access.PerTenantName
            ? Expectation.Status(403, 404)
            : Expectation.Success;
    }

    private async Task<string> PathAsync(string pattern, TenantAResources tenantA)
    {
        var path = pattern;
        foreach (Match parameter in PathParameter().Matches(pattern))
        {
            path = path.Replace(parameter.Value, Uri.EscapeDataString(await PathValueAsync(parameter.Groups[1].Value, tenantA)),
                StringComparison.Ordinal);
        }
        return path;
    }

    /// <summary>A real id of tenant A for a path parameter; fresh where the call may consume it (delete, revoke).</summary>
    private async Task<string> PathValueAsync(string name, TenantAResources tenantA) => name switch
    {
        "tenantId" => fixture.TenantA.ToString(),
        "keyId" => (await tenantA.Owner.ApiKeys.CreateApiKeyAsync(fixture.TenantA, "auth-table", ApiKeyRole.Viewer, CancellationToken.None)).Key.Id.ToString(),
        "deviceId" => await tenantA.RegisterDeviceAsync(),
        "machineId" => tenantA.MachineId,
        "alertId" => (await AlertSeeds.OpenAsync(tenantA.Owner, fixture.TenantA, tenantA.MachineId, AlertSeeds.UniqueRuleId())).Id.ToString(),
        "subscriptionId" => (await SubscriptionSeeds.CreateAsync(fixture.Factory, fixture.TenantA)).Id.ToString(),
        "deadLetterId" => (await tenantA.DeadLetterAsync()).ToString(),
        "path" => "index.html",
        "name" => await tenantA.ModelAsync(),
        "kind" => "auth-table-kind",
        _ => throw new Xunit.Sdk.XunitException($"no value for path parameter '{name}': add one to {nameof(PathValueAsync)}"),
    };

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;

    [GeneratedRegex(@"\{\**(\w+)(:[^}]*)?\}")]
    private static partial Regex PathParameter();

    private sealed record Caller(string Name, string? Key, ApiKeyRole? Role);

    private sealed record Expectation(string Text, Func<int, bool> Allows)
    {
        public static Expectation Success { get; } = new("2xx", s => s is >= 200 and < 300);

        public static Expectation Status(params int[] statuses) => new(string.Join(" or ", statuses), statuses.Contains);
    }

    /// <summary>Tenant A's device and machine, made the way a plant makes them: registered through the API, then a reading ingested.</summary>
    private sealed class TenantAResources
    {
        private readonly ApiFixture _fixture;

        private TenantAResources(ApiFixture fixture, string machineId)
        {
            _fixture = fixture;
            MachineId = machineId;
            Owner = PdmStores.Create(fixture.Database.AppConnectionString);
        }

        public string MachineId { get; }
        public PdmStores Owner { get; }
        public List<string> Markers { get; } = [];

        public static async Task<TenantAResources> CreateAsync(ApiFixture fixture)
        {
            var resources = new TenantAResources(fixture, AuthorizationTable.Unique("AUTHA_M"));
            var device = await resources.RegisterDeviceAsync();
            using var host = fixture.Factory.Client();
            using var ingest = await host.PostAsync("Ingest", IngestInvocations.Create([new HubEvent(device, IngestInvocations.Telemetry(resources.MachineId))]));
            Assert.True(ingest.IsSuccessStatusCode, await ingest.Content.ReadAsStringAsync());
            using var reader = fixture.Factory.Client(fixture.Keys["viewer"]);
            using var machine = await reader.GetAsync($"api/v1/machines/{resources.MachineId}");
            Assert.True(machine.IsSuccessStatusCode, $"the ingested machine is not there: {await machine.Content.ReadAsStringAsync()}");
            resources.Markers.AddRange([fixture.TenantA.ToString(), resources.MachineId]);
            return resources;
        }

        public async Task<string> RegisterDeviceAsync()
        {
            var deviceId = AuthorizationTable.Unique("auth-a");
            using var admin = _fixture.Factory.Client(_fixture.Keys["admin"]);
            using var response = await admin.PostAsJsonAsync("api/v1/devices", new { deviceId });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            Markers.Add(deviceId);
            return deviceId;
        }

        /// <summary>A webhook subscription of tenant A (its secret is a placeholder: nothing is delivered to it).</summary>
        public async Task<Guid> SubscribeAsync()
        {
            var url = $"https://{AuthorizationTable.Unique("auth-a")}.example/hook";
            var subscription = await Owner.Subscriptions.CreateAsync(_fixture.TenantA, new WebhookSubscriptionSettings { Url = url }, [1, 2, 3],
                CancellationToken.None);
            Markers.Add(url);
            return subscription.Id;
        }

        /// <summary>A registered model (models are platform-wide: any tenant may read them, so it is no marker of tenant A).</summary>
        public async Task<string> ModelAsync()
        {
            const string name = "anomaly-auth-table";
            await using var owner = PdmStores.Create(_fixture.Database.OwnerConnectionString);
            if ((await owner.Models.ListModelsAsync(name, CancellationToken.None)).Count == 0)
            {
                await owner.Models.RegisterModelAsync(new NewModelVersion
                {
                    Name = name,
                    Kind = "anomaly",
                    ArtifactBlob = "models/anomaly-auth-table/1.json",
                    ArtifactSha256 = new byte[32],
                    ArtifactSize = 1,
                    TrainingDataHash = "auth-table",
                    Metrics = new Dictionary<string, double> { ["threshold"] = 0.5 },
                    Parameters = new Dictionary<string, string>(),
                }, CancellationToken.None);
            }
            return name;
        }

        /// <summary>A fresh dead letter of tenant A (a replay consumes it).</summary>
        public async Task<Guid> DeadLetterAsync()
        {
            var eventId = AuthorizationTable.Unique("evt_authA").Replace('-', '_');
            var payload = $$"""{"id":"{{eventId}}","type":"alert.opened"}""";
            var deadLetter = await Owner.Subscriptions.AddDeadLetterAsync(_fixture.TenantA, await SubscribeAsync(), eventId, payload, 12, "HTTP 503",
                CancellationToken.None);
            Markers.Add(eventId);
            return deadLetter.Id;
        }
    }
}
