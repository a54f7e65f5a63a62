using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>A checked read of one machine's history: the caller's tenant, the time range and the row limit.</summary>
internal sealed record MachineQuery(Guid Tenant, DateTimeOffset Start, DateTimeOffset End, int Limit)
{
    /// <summary>
    /// What every per-machine read checks, in this order: a tenant key, a well-formed machine id, times in ISO 8601
    /// and a range that does not end before it starts (default: the last hour), a limit within 1..<paramref name="maxLimit"/>,
    /// and the machine in that tenant.
    /// </summary>
    /// <returns>The query, or the problem to answer with.</returns>
    public static async Task<(MachineQuery? Query, IResult? Problem)> CheckAsync(string machineId, string? from,
        string? to, string? limit, int defaultLimit, int maxLimit, HttpContext http, MachineStore machines,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return (null, TenantKeyRequired());
        }
        if (TextRules.CheckId(machineId, "machineId", TextRules.MaxIdLength) is { } badId)
        {
            return (null, Problems.Invalid("machineId", badId));
        }
        if (QueryValues.Time(from, "from", out var fromTime) is { } badFrom)
        {
            return (null, Problems.Invalid("from", badFrom));
        }
        if (QueryValues.Time(to, "to", out var toTime) is { } badTo)
        {
            return (null, Problems.Invalid("to", badTo));
        }
        var end = toTime ?? clock.GetUtcNow();
        var start = fromTime ?? end.AddHours(-1);
        if (start > end)
        {
            return (null, Problems.Invalid("from", "from must not be after to"));
        }
        if (QueryValues.Limit(limit, defaultLimit, maxLimit, out var rows) is { } badLimit)
        {
            return (null, Problems.Invalid("limit", badLimit));
        }
        if (await machines.GetMachineAsync(tenant, machineId, cancellationToken) is null)
        {
            return (null, Problems.NotFound($"no machine '{machineId}' in this tenant"));
        }
        return (new MachineQuery(tenant, start, end, rows), null);
    }

    /// <summary>The caller's tenant when it acts for a tenant with at least role <paramref name="least"/> (viewer: any tenant role).</summary>
    public static Guid? TenantOf(HttpContext http, ApiKeyRole least = ApiKeyRole.Viewer)
    {
        var caller = http.Principal();
        return caller.TenantId is { } tenant && caller.Role.Includes(least) ? tenant : null;
    }

    public static IResult TenantKeyRequired() =>
        Problems.Forbidden("This endpoint reads one tenant's data: use a key of that tenant (platform-admin keys manage tenants only).");
}
