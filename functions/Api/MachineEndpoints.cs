using System.Text.Json;
using Pdm.Storage;
using Pdm.Telemetry;
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
    private static readonly string[] PatchFields = ["name", "kind", "location", "criticality", "isoClass"];

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
        v1.MapPut("/machine-kinds/{kind}", SetKindAsync)
            .WithName("UpdateMachineKind").WithSummary("Set the ISO 10816 class a machine kind is judged by; null goes back to the built-in one (admin)")
            .Accepts<MachineKindRequest>("application/json").Produces<MachineKindCount>();
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

    /// <summary>The body must name <c>isoClass</c>: one of the classes, or null for the built-in class of the kind.</summary>
    private static async Task<IResult> SetKindAsync(string kind, JsonElement body, HttpContext http, MachineStore machines, TenantStore tenants,
        CancellationToken cancellationToken)
    {
        if (TenantOf(http, ApiKeyRole.Admin) is not { } tenant)
        {
            return Problems.Forbidden("Changing machine kinds needs an admin key.");
        }
        if (TextRules.CheckId(kind, "kind", MaxKindLength) is { } badKind)
        {
            return Problems.Invalid("kind", badKind);
        }
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("isoClass", out var value))
        {
            return Problems.Invalid("isoClass", $"the body must be a JSON object with isoClass: {IsoClassChoices} or null");
        }
        if (body.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => name != "isoClass") is { } other)
        {
            return Problems.Invalid(other, $"{TextRules.Shorten(other)} cannot be set; a machine kind takes isoClass");
        }
        string? isoClass = null;
        if (value.ValueKind != JsonValueKind.Null && CheckIsoClass(value, out isoClass) is { } problem)
        {
            return Problems.Invalid("isoClass", problem);
        }
        var updated = await machines.SetKindIsoClassAsync(tenant, kind, isoClass, cancellationToken);
        await tenants.WriteAuditAsync(tenant, http.Principal().Name, "machine-kind.update", kind,
            JsonSerializer.Serialize(body, JsonSerializerOptions.Web), cancellationToken);
        return TypedResults.Ok(updated);
    }

    private static string IsoClassChoices => string.Join(", ", IsoZoneClasses.ByName.Keys);

    private static string? CheckIsoClass(JsonElement value, out string? isoClass)
    {
        isoClass = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return isoClass is not null && IsoZoneClasses.ByName.ContainsKey(isoClass)
            ? null
            : $"isoClass must be one of {IsoClassChoices} (got {TextRules.Shorten(value.GetRawText())})";
    }

    private static string ETagOf(Machine machine) => ETags.Of(JsonSerializer.SerializeToUtf8Bytes(MachineDto.From(machine), JsonSerializerOptions.Web));

    /// <returns>Null and the changes, or the problem naming the field.</returns>
    private static IResult? ReadChanges(JsonElement body, out MachineChanges? changes)
    {
        changes = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Problems.Invalid("body", "the body must be a JSON object with any of name, kind, location, criticality, isoClass");
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
            if (property.Name == "isoClass")
            {
                if (CheckIsoClass(property.Value, out var isoClass) is { } badClass)
                {
                    return Problems.Invalid("isoClass", badClass);
                }
                values["isoClass"] = isoClass!;
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
            return Problems.Invalid("body", "nothing to change: give any of name, kind, location, criticality, isoClass");
        }
        changes = new MachineChanges
        {
            Name = values.GetValueOrDefault("name"),
            Kind = values.GetValueOrDefault("kind"),
            Location = values.GetValueOrDefault("location"),
            Criticality = values.GetValueOrDefault("criticality"),
            IsoClass = values.GetValueOrDefault("isoClass"),
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
/// <param name="IsoClass">Its own ISO 10816 class; null when its kind's class applies.</param>
internal sealed record MachineDto(string MachineId, string? Name, string? Kind, string? Location, string? Criticality,
    IReadOnlyList<string> Sensors, string? FirstSeenByDevice, DateTimeOffset CreatedAt, string? IsoClass)
{
    public static MachineDto From(Machine machine) => new(machine.MachineId, machine.Name, machine.Kind, machine.Location,
        machine.Criticality, machine.Sensors ?? [], machine.FirstSeenByDevice, machine.CreatedAt, machine.IsoClass);
}

/// <summary>PATCH /machines/{id}: any of these; a field left out stays as it is, null clears it.</summary>
/// <param name="Criticality">LOW, MEDIUM, HIGH or CRITICAL.</param>
/// <param name="IsoClass">group1-rigid, group1-flexible, group2-rigid, group2-flexible, class1 … class4; null: the kind's.</param>
internal sealed record MachinePatchRequest(string? Name, string? Kind, string? Location, string? Criticality, string? IsoClass);

/// <summary>PUT /machine-kinds/{kind}.</summary>
/// <param name="IsoClass">As a machine's; null goes back to the kind's built-in class (or group2-rigid).</param>
internal sealed record MachineKindRequest(string? IsoClass);
