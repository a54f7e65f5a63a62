using System.Text.Json;
using Pdm.Storage;
using static Pdm.Functions.Api.MachineQuery;

namespace Pdm.Functions.Api;

/// <summary>
/// A tenant's machines (paged by machine id), one machine with its ETag, its description changed by an admin
/// (PATCH, If-Match, audited), and the machine kinds in use.
/// </summary>
internal static class MachineEndpoints
{
    private const int MaxMachines = 1000;
    private const int MaxLocationLength = 200;
    private const int MaxKindLength = 63;
    private static readonly string[] PatchFields = ["name", "kind", "location", "criticality"];

    public static void MapMachines(this RouteGroupBuilder v1)
    {
        v1.MapGet("/machines", ListMachinesAsync)
            .WithName("ListMachines").WithSummary("The tenant's machines, by machine id, a page at a time")
            .Produces<Page<MachineDto>>();
        v1.MapGet("/machines/{machineId}", GetMachineAsync)
            .WithName("GetMachine").WithSummary("One machine: name, kind, location, criticality and the sensors it sends (ETag)")
            .Produces<MachineDto>().Produces(StatusCodes.Status304NotModified);
        v1.MapPatch("/machines/{machineId}", PatchMachineAsync)
            .WithName("UpdateMachine").WithSummary("Change a machine's name, kind, location or criticality (admin; If-Match)")
            .Accepts<MachinePatchRequest>("application/json").Produces<MachineDto>().ProducesProblem(StatusCodes.Status412PreconditionFailed);
        v1.MapGet("/machine-kinds", ListKindsAsync)
            .WithName("ListMachineKinds").WithSummary("The machine kinds of the tenant's machines and of the registered models, with counts")
            .Produces<IReadOnlyList<MachineKindCount>>();
    }

    private static async Task<IResult> ListMachinesAsync(string? cursor, string? limit, HttpContext http, MachineStore machines,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (Paging.Check(cursor, limit, 100, MaxMachines, out var after, out var rows) is { } problem)
        {
            return problem;
        }
        var found = await machines.ListMachinesAsync(tenant, after?.Id, rows + 1, cancellationToken);
        // Machines page by id alone; the cursor's time is not used.
        return TypedResults.Ok(Paging.Build(http, [.. found.Select(MachineDto.From)], rows, m => new PageCursor(DateTimeOffset.UnixEpoch, m.MachineId)));
    }

    private static async Task<IResult> GetMachineAsync(string machineId, HttpContext http, MachineStore machines, CancellationToken cancellationToken)
    {
        if (TenantOf(http) is not { } tenant)
        {
            return TenantKeyRequired();
        }
        if (TextRules.CheckId(machineId, "machineId", TextRules.MaxIdLength) is { } problem)
        {
            return Problems.Invalid("machineId", problem);
        }
        var machine = await machines.GetMachineAsync(tenant, machineId, cancellationToken);
        return machine is null ? Problems.NotFound($"no machine '{machineId}' in this tenant") : ETags.Json(http, MachineDto.From(machine));
    }

    /// <summary>
    /// A JSON merge patch of the four descriptive fields: a field left out stays, null clears it. With If-Match the
    /// change applies only to the machine as the caller last read it (412 otherwise).
    /// </summary>
    private static async Task<IResult> PatchMachineAsync(string machineId, JsonElement body, HttpContext http, MachineStore machines,
        TenantStore tenants, CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Changing machines needs an admin key.");
        }
        if (TextRules.CheckId(machineId, "machineId", TextRules.MaxIdLength) is { } badId)
        {
            return Problems.Invalid("machineId", badId);
        }
        if (ReadChanges(body, out var changes) is { } invalid)
        {
            return invalid;
        }
        var ifMatch = http.Request.Headers.IfMatch.ToString();
        var (outcome, machine) = await machines.UpdateMachineAsync(tenant, machineId, changes!,
            current => ifMatch.Length == 0 || ETags.Matches(ifMatch, ETagOf(current)), cancellationToken);
        switch (outcome)
        {
            case MachineUpdate.NotFound:
                return Problems.NotFound($"no machine '{machineId}' in this tenant");
            case MachineUpdate.PreconditionFailed:
                http.Response.Headers.ETag = ETagOf(machine!);
                return TypedResults.Problem($"machine '{machineId}' changed since it was read (If-Match {ifMatch}); read it again and reapply",
                    statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed");
        }
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "machine.update", machineId,
            JsonSerializer.Serialize(body, JsonSerializerOptions.Web), cancellationToken);
        http.Response.Headers.ETag = ETagOf(machine!);
        return TypedResults.Ok(MachineDto.From(machine!));
    }

    private static async Task<IResult> ListKindsAsync(HttpContext http, MachineStore machines, CancellationToken cancellationToken) =>
        TenantOf(http) is { } tenant ? TypedResults.Ok(await machines.ListKindsAsync(tenant, cancellationToken)) : TenantKeyRequired();

    private static string ETagOf(Machine machine) => ETags.Of(JsonSerializer.SerializeToUtf8Bytes(MachineDto.From(machine), JsonSerializerOptions.Web));

    /// <returns>Null and the changes, or the problem naming the field.</returns>
    private static IResult? ReadChanges(JsonElement body, out MachineChanges? changes)
    {
        changes = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Problems.Invalid("body", "the body must be a JSON object with any of name, kind, location, criticality");
        }
        var values = new Dictionary<string, string>();
        var cleared = new HashSet<string>();
        foreach (var property in body.EnumerateObject())
        {
            if (!PatchFields.Contains(property.Name, StringComparer.Ordinal))
            {
                return Problems.Invalid(property.Name, $"{TextRules.Shorten(property.Name)} cannot be changed; a machine takes {string.Join(", ", PatchFields)}");
            }
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                cleared.Add(property.Name);
                continue;
            }
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return Problems.Invalid(property.Name, $"{property.Name} must be a string, or null to clear it");
            }
            var raw = property.Value.GetString();
            var problem = property.Name switch
            {
                "name" => TextRules.CheckName(raw, "name", TextRules.MaxNameLength, out var name) ?? Keep(values, "name", name),
                "kind" => TextRules.CheckId(raw, "kind", MaxKindLength) ?? Keep(values, "kind", raw!),
                "location" => TextRules.CheckName(raw, "location", MaxLocationLength, out var location) ?? Keep(values, "location", location),
                _ => MachineStore.Criticalities.FirstOrDefault(c => string.Equals(c, raw, StringComparison.OrdinalIgnoreCase)) is { } criticality
                    ? Keep(values, "criticality", criticality)
                    : $"criticality must be one of {string.Join(", ", MachineStore.Criticalities)} (got '{TextRules.Shorten(raw ?? "")}')",
            };
            if (problem is not null)
            {
                return Problems.Invalid(property.Name, problem);
            }
        }
        if (values.Count == 0 && cleared.Count == 0)
        {
            return Problems.Invalid("body", "nothing to change: give any of name, kind, location, criticality");
        }
        changes = new MachineChanges
        {
            Name = values.GetValueOrDefault("name"),
            Kind = values.GetValueOrDefault("kind"),
            Location = values.GetValueOrDefault("location"),
            Criticality = values.GetValueOrDefault("criticality"),
            Cleared = cleared,
        };
        return null;
    }

    private static string? Keep(Dictionary<string, string> values, string field, string value)
    {
        values[field] = value;
        return null;
    }
}

/// <summary>A machine as the API shows it.</summary>
/// <param name="Sensors">The sensors it sends, as its scorer last saw them; empty before its first scored sample.</param>
internal sealed record MachineDto(string MachineId, string? Name, string? Kind, string? Location, string? Criticality,
    IReadOnlyList<string> Sensors, string? FirstSeenByDevice, DateTimeOffset CreatedAt)
{
    public static MachineDto From(Machine machine) => new(machine.MachineId, machine.Name, machine.Kind, machine.Location,
        machine.Criticality, machine.Sensors ?? [], machine.FirstSeenByDevice, machine.CreatedAt);
}

/// <summary>PATCH /machines/{id}: any of these; a field left out stays as it is, null clears it.</summary>
/// <param name="Criticality">LOW, MEDIUM, HIGH or CRITICAL.</param>
internal sealed record MachinePatchRequest(string? Name, string? Kind, string? Location, string? Criticality);
