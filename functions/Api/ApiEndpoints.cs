using Microsoft.Extensions.Options;
using Pdm.AzureStorage;
using Pdm.IotHub;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// REST API v1 (the Api function, proxied by the host under /api). Platform-admin keys manage tenants and their
/// keys; tenant keys see and change only their own tenant's devices, machines, readings and rejects.
/// </summary>
internal static class ApiEndpoints
{
    private const int MaxReadings = 10_000;
    private const int MaxRejects = 1000;
    private const int MaxDevices = 1000;
    private const int MaxApiKeys = 1000;
    private const int MaxTenants = 1000;

    public static void MapApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", HealthAsync)
            .WithName("Health").WithSummary("Liveness and the database, with the ingest dead-letter backlog").Produces<HealthReport>();

        var jsonLimit = new RequestBodyLimit(app.ServiceProvider.GetRequiredService<IOptions<ApiOptions>>().Value.MaxJsonBodyBytes);
        var v1 = app.MapGroup("/api/v1").RequireApiKey().WithMetadata(jsonLimit);

        v1.MapPost("/tenants", CreateTenantAsync)
            .WithName("CreateTenant").WithSummary("Create a tenant (platform admin)").Produces<Tenant>(StatusCodes.Status201Created);
        v1.MapGet("/tenants", ListTenantsAsync)
            .WithName("ListTenants").WithSummary("Every tenant (platform admin), or the caller's own; oldest first, a page at a time").Produces<Page<Tenant>>();
        v1.MapPost("/tenants/{tenantId:guid}/api-keys", CreateApiKeyAsync)
            .WithName("CreateApiKey").WithSummary("Create a key with a role; the key is in this answer only").Produces<CreatedApiKey>(StatusCodes.Status201Created);
        v1.MapGet("/tenants/{tenantId:guid}/api-keys", ListApiKeysAsync)
            .WithName("ListApiKeys").WithSummary("A tenant's keys: prefix, role, created, last used, revoked; oldest first, a page at a time").Produces<Page<ApiKey>>();
        v1.MapDelete("/tenants/{tenantId:guid}/api-keys/{keyId:guid}", RevokeApiKeyAsync)
            .WithName("RevokeApiKey").WithSummary("Revoke a key").Produces(StatusCodes.Status204NoContent);

        v1.MapPost("/devices", RegisterDeviceAsync)
            .WithName("RegisterDevice").WithSummary("Register a device; its connection details are in this answer only (operator)").Produces<RegisteredDevice>(StatusCodes.Status201Created);
        v1.MapGet("/devices", ListDevicesAsync)
            .WithName("ListDevices").WithSummary("The tenant's devices, by device id, a page at a time").Produces<Page<Device>>();
        v1.MapDelete("/devices/{deviceId}", DeleteDeviceAsync)
            .WithName("DeleteDevice").WithSummary("Delete a device and its identity (admin)").Produces(StatusCodes.Status204NoContent);
        v1.MapEdgeDeployment();

        v1.MapMachines();
        v1.MapGet("/machines/{machineId}/readings", QueryReadingsAsync)
            .WithName("ListReadings").WithSummary("Raw readings of one machine in a time range, oldest first, a page at a time").Produces<ReadingsPage>();
        v1.MapGet("/rejects", ListRejectsAsync)
            .WithName("ListRejects").WithSummary("Messages ingest refused, newest first, a page at a time").Produces<Page<StoredReject>>();
        v1.MapPredictions();
        v1.MapAlertRules();
        v1.MapAlerts();
        v1.MapWebhookSubscriptions();
        v1.MapDeliveries();
        v1.MapDashboard();
        v1.MapAdministration();
    }

    /// <summary>
    /// Each dependency by name (database; storage: blob, queue, table), checked concurrently within
    /// <c>Pdm__Health__Timeout</c>. 503 "degraded" when the database does not answer. Otherwise 200: "ok", or "degraded"
    /// when a storage service fails its check, or batches wait in the dead-letter container longer than
    /// <c>Pdm__Ingest__ParkedAlertAge</c> or are quarantined (or the container cannot be read); deadLetters gives the
    /// numbers either way.
    /// </summary>
    private static async Task<IResult> HealthAsync(DatabaseHealth health, StorageHealth storage, global::Pdm.Ingest.IngestProcessor ingest,
        IOptions<Functions.Ingest.IngestSettings> settings, IOptions<HealthOptions> healthOptions,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var timeout = healthOptions.Value.Timeout;
        var database = StorageHealth.ProbeAsync("database", timeout, async ct =>
        {
            if (!await health.PingAsync(ct))
            {
                throw new InvalidOperationException("the database did not answer SELECT 1 (see the handler's log)");
            }
        }, cancellationToken);
        var services = storage.CheckAsync(timeout, cancellationToken);
        Functions.Ingest.DeadLetterReport? deadLetters = null;
        var needsAttention = true;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var backlog = await ingest.CheckDeadLettersAsync(deadline.Token);
            var now = clock.GetUtcNow();
            deadLetters = Functions.Ingest.DeadLetterReport.From(backlog, now);
            needsAttention = backlog.NeedsAttention(now, settings.Value.ParkedAlertAge);
        }
        catch (Exception ex) when (Pdm.AzureStorage.StorageClients.IsUnavailable(ex)
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Blob storage is away or refuses us (or the identity got no token): nothing can be parked either, which is
            // worth the "degraded".
        }
        DependencyCheck[] checks = [await database, .. await services];
        var healthy = checks[0].IsOk;
        var status = healthy && !needsAttention && checks.All(c => c.IsOk) ? "ok" : "degraded";
        var report = new HealthReport(status, healthy ? "ok" : "unavailable", deadLetters, checks.ToDictionary(c => c.Name));
        return healthy ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    // ---- platform administration ----

    private static async Task<IResult> CreateTenantAsync(CreateTenantRequest request, HttpContext http, TenantStore tenants, CancellationToken cancellationToken)
    {
        var caller = http.Principal();
        if (caller.Role != ApiKeyRole.PlatformAdmin)
        {
            return Problems.Forbidden("Only a platform-admin key can create tenants.");
        }
        if (TextRules.CheckName(request.Name, "name", TextRules.MaxNameLength, out var name) is { } problem)
        {
            return Problems.Invalid("name", problem);
        }
        Tenant tenant;
        try
        {
            tenant = await tenants.CreateTenantAsync(name, cancellationToken);
        }
        catch (TenantNameTakenException)
        {
            return Problems.Conflict($"a tenant named '{name}' already exists");
        }
        await tenants.WriteAuditAsync(tenant.Id, caller.Name, "tenant.create", tenant.Id.ToString(), null, cancellationToken);
        return TypedResults.Created($"/api/v1/tenants/{tenant.Id}", tenant);
    }

    private static async Task<IResult> ListTenantsAsync(string? from, string? to, string? cursor, string? limit, HttpContext http,
        TenantStore tenants, CancellationToken cancellationToken)
    {
        if ((Paging.CheckRange(from, to, cursor, limit, 100, MaxTenants, out var page, out var rows) ?? Paging.CheckId<Guid>(page)) is { } problem)
        {
            return problem;
        }
        var caller = http.Principal();
        if (caller.Role == ApiKeyRole.PlatformAdmin)
        {
            var all = await tenants.ListTenantsAsync(page, cancellationToken);
            return TypedResults.Ok(Paging.Build(http, all, rows, t => new PageCursor(t.CreatedAt, t.Id.ToString())));
        }
        // A tenant key sees its own tenant: one page of at most one row.
        var own = await tenants.GetTenantAsync(caller.TenantId!.Value, cancellationToken);
        var inPage = own is not null && page.AfterAt is null && (page.From is null || own.CreatedAt >= page.From)
            && (page.To is null || own.CreatedAt < page.To);
        return TypedResults.Ok(new Page<Tenant>(inPage ? [own!] : [], null, null));
    }

    private static async Task<IResult> CreateApiKeyAsync(Guid tenantId, CreateApiKeyRequest request,
        HttpContext http, TenantStore tenants, ApiKeyStore apiKeys, CancellationToken cancellationToken)
    {
        var caller = http.Principal();
        if (!MayManageKeys(caller, tenantId))
        {
            return Problems.Forbidden("Keys of a tenant are managed by a platform-admin key or that tenant's admin key.");
        }
        if (!ApiKeyRoles.TryParse(request.Role, out var role) || role == ApiKeyRole.PlatformAdmin)
        {
            return Problems.Invalid("role", $"role must be one of {string.Join(", ", ApiKeyRoles.TenantRoles)}");
        }
        if (TextRules.CheckName(request.Name, "name", TextRules.MaxNameLength, out var name) is { } problem)
        {
            return Problems.Invalid("name", $"{problem}: say who or what uses the key");
        }
        if (await tenants.GetTenantAsync(tenantId, cancellationToken) is null)
        {
            return Problems.NotFound($"tenant {tenantId} does not exist");
        }
        var (key, plaintext) = await apiKeys.CreateApiKeyAsync(tenantId, name, role, cancellationToken);
        await tenants.WriteAuditAsync(tenantId, caller.Name, "api-key.create", key.Id.ToString(), null, cancellationToken);
        return TypedResults.Created($"/api/v1/tenants/{tenantId}/api-keys/{key.Id}",
            new CreatedApiKey(key.Id, key.Name, ApiKeyRoles.Name(role), plaintext));
    }

    private static async Task<IResult> ListApiKeysAsync(Guid tenantId, string? from, string? to, string? cursor, string? limit, HttpContext http,
        ApiKeyStore apiKeys, CancellationToken cancellationToken)
    {
        if (!MayManageKeys(http.Principal(), tenantId))
        {
            return Problems.Forbidden("Keys of a tenant are listed by a platform-admin key or that tenant's admin key.");
        }
        if ((Paging.CheckRange(from, to, cursor, limit, 100, MaxApiKeys, out var page, out var rows) ?? Paging.CheckId<Guid>(page)) is { } problem)
        {
            return problem;
        }
        var keys = await apiKeys.ListApiKeysAsync(tenantId, page, cancellationToken);
        return TypedResults.Ok(Paging.Build(http, keys, rows, k => new PageCursor(k.CreatedAt, k.Id.ToString())));
    }

    private static async Task<IResult> RevokeApiKeyAsync(Guid tenantId, Guid keyId,
        HttpContext http, ApiKeyStore apiKeys, TenantStore tenants, CancellationToken cancellationToken)
    {
        var caller = http.Principal();
        if (!MayManageKeys(caller, tenantId))
        {
            return Problems.Forbidden("Keys of a tenant are revoked by a platform-admin key or that tenant's admin key.");
        }
        if (!await apiKeys.RevokeApiKeyAsync(tenantId, keyId, cancellationToken))
        {
            return Problems.NotFound($"tenant {tenantId} has no key {keyId}");
        }
        await tenants.WriteAuditAsync(tenantId, caller.Name, "api-key.revoke", keyId.ToString(), null, cancellationToken);
        return TypedResults.NoContent();
    }

    private static bool MayManageKeys(ApiPrincipal caller, Guid tenantId) =>
        caller.Role == ApiKeyRole.PlatformAdmin || (caller.Role == ApiKeyRole.Admin && caller.TenantId == tenantId);

    // ---- tenant scope ----

    private static async Task<IResult> RegisterDeviceAsync(RegisterDeviceRequest request, HttpContext http, DeviceStore devices, TenantStore tenants,
        IDeviceIdentityRegistry registry, IOptions<PdmOptions> options, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Operator) is not { } tenant)
        {
            return Problems.Forbidden("Registering devices needs an operator or admin key.");
        }
        if (!DeviceIds.IsValid(request.DeviceId, out var reason))
        {
            return Problems.Invalid("deviceId", reason);
        }
        try
        {
            await devices.RegisterDeviceAsync(tenant, request.DeviceId, cancellationToken);
        }
        catch (DeviceIdTakenException)
        {
            return Problems.Conflict($"device id '{request.DeviceId}' is already registered by another tenant");
        }
        // Registering again rotates the device's key: the way to recover a lost key.
        var identity = await registry.CreateOrUpdateAsync(request.DeviceId, cancellationToken);
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "device.register", request.DeviceId, null, cancellationToken);
        return TypedResults.Created($"/api/v1/devices/{request.DeviceId}",
            new RegisteredDevice(identity.DeviceId, identity.PrimaryKey, options.Value.MqttEndpoint ?? options.Value.IotHubHostName));
    }

    /// <summary>By device id; from/to on the registration time.</summary>
    private static async Task<IResult> ListDevicesAsync(string? from, string? to, string? cursor, string? limit, HttpContext http,
        DeviceStore devices, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (Paging.CheckRange(from, to, cursor, limit, 100, MaxDevices, out var page, out var rows) is { } problem)
        {
            return problem;
        }
        var found = await devices.ListDevicesAsync(tenant, page, cancellationToken);
        // Devices page by id alone; the cursor's time is not used.
        return TypedResults.Ok(Paging.Build(http, found, rows, d => new PageCursor(DateTimeOffset.UnixEpoch, d.DeviceId)));
    }

    private static async Task<IResult> DeleteDeviceAsync(string deviceId, HttpContext http, DeviceStore devices, TenantStore tenants,
        IDeviceIdentityRegistry registry, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Deleting devices needs an admin key.");
        }
        if (!DeviceIds.IsValid(deviceId, out var reason))
        {
            return Problems.Invalid("deviceId", reason);
        }
        if (!await devices.DeleteDeviceAsync(tenant, deviceId, cancellationToken))
        {
            return Problems.NotFound($"no device '{deviceId}' in this tenant");
        }
        await registry.DeleteAsync(deviceId, cancellationToken);
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "device.delete", deviceId, null, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Oldest first in [from, to); the cursor is the last reading's time and sensor, and the next link pins the range.</summary>
    private static async Task<IResult> QueryReadingsAsync(string machineId, string? from, string? to, string? sensor, string? cursor,
        string? limit, HttpContext http, MachineStore machines, ReadingStore readingStore, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (TextRules.CheckOptional(sensor, "sensor", TextRules.MaxNameLength) is { } invalidSensor)
        {
            return Problems.Invalid("sensor", invalidSensor);
        }
        var (query, problem) = await MachineQuery.CheckAsync(machineId, from, to, limit, 1000, MaxReadings, http, machines, clock,
            cancellationToken);
        if (query is null)
        {
            return problem!;
        }
        if (Paging.Check(cursor, null, 1, 1, out var after, out _) is { } badCursor)
        {
            return badCursor;
        }
        var readings = await readingStore.QueryReadingsAsync(query.Tenant, machineId, query.Start, query.End, sensor, query.Limit + 1,
            after is { } last ? (last.At, last.Id) : null, cancellationToken);
        var page = Paging.Build(http, readings, query.Limit, r => new PageCursor(r.Timestamp, r.Sensor), Paging.Range(query.Start, query.End));
        return TypedResults.Ok(new ReadingsPage(machineId, query.Start, query.End, page.Items, page.Next, page.NextLink));
    }

    /// <summary>Newest first; from/to on the time ingest received the message.</summary>
    private static async Task<IResult> ListRejectsAsync(string? from, string? to, string? cursor, string? limit, HttpContext http,
        RejectStore rejects, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if ((Paging.CheckRange(from, to, cursor, limit, 100, MaxRejects, out var page, out var rows) ?? Paging.CheckId<long>(page)) is { } problem)
        {
            return problem;
        }
        var found = await rejects.ListRejectsAsync(tenant, page, cancellationToken);
        return TypedResults.Ok(Paging.Build(http, found, rows,
            r => new PageCursor(r.ReceivedAt, r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }
}

/// <param name="DeadLetters">Parked and quarantined batches; null when the dead-letter container cannot be read.</param>
/// <param name="Checks">database, blob, queue and table: status (ok, unavailable, timeout), milliseconds, detail.</param>
internal sealed record HealthReport(string Status, string Database, Functions.Ingest.DeadLetterReport? DeadLetters,
    IReadOnlyDictionary<string, DependencyCheck> Checks);

/// <summary>The health endpoint's settings (<c>Pdm__Health__Timeout</c>).</summary>
public sealed class HealthOptions
{
    public const string Section = "Pdm:Health";

    /// <summary>How long each dependency may take to answer; the platform's health probe should not wait on a hung one.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
internal sealed record CreateTenantRequest(string Name);
internal sealed record CreateApiKeyRequest(string Name, string Role);
internal sealed record CreatedApiKey(Guid Id, string Name, string Role, string Key);
internal sealed record RegisterDeviceRequest(string DeviceId);
internal sealed record RegisteredDevice(string DeviceId, string PrimaryKey, string? Endpoint);
/// <param name="Next">The cursor of the following page (null on the last); <paramref name="NextLink"/> fetches it.</param>
internal sealed record ReadingsPage(string MachineId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<Reading> Readings,
    string? Next = null, string? NextLink = null);
