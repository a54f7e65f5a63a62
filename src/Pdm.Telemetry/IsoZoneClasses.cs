namespace Pdm.Telemetry;

/// <summary>
/// The ISO 10816 zone tables by the short name the API, the database and <c>pdm model fit --iso-zones</c> use
/// (<c>group2-rigid</c>, <c>class1</c> …), and the table each built-in machine kind is judged by.
/// </summary>
public static class IsoZoneClasses
{
    /// <summary>What ingest judges a machine by when neither it nor its kind names a class.</summary>
    public const string Default = "group2-rigid";

    public static IReadOnlyDictionary<string, IsoZoneBoundaries> ByName { get; } = new Dictionary<string, IsoZoneBoundaries>(StringComparer.Ordinal)
    {
        ["group1-rigid"] = IsoZoneBoundaries.Group1Rigid,
        ["group1-flexible"] = IsoZoneBoundaries.Group1Flexible,
        ["group2-rigid"] = IsoZoneBoundaries.Group2Rigid,
        ["group2-flexible"] = IsoZoneBoundaries.Group2Flexible,
        ["class1"] = IsoZoneBoundaries.ClassI,
        ["class2"] = IsoZoneBoundaries.ClassII,
        ["class3"] = IsoZoneBoundaries.ClassIII,
        ["class4"] = IsoZoneBoundaries.ClassIV,
    };

    // The twin's six kinds: large machines on rigid foundations (mills, presses), a medium pump, and the small drives of
    // lines, packers and testers (ISO 10816-1). Keys are kind names folded by Fold, so "CncMill" and "cnc-mill" agree.
    private static readonly Dictionary<string, string> BuiltInKinds = new(StringComparer.Ordinal)
    {
        ["cncmill"] = "group1-rigid",
        ["pressmachine"] = "group1-rigid",
        ["centrifugalpump"] = "group2-rigid",
        ["assemblyline"] = "class2",
        ["packagingunit"] = "class2",
        ["qualitytester"] = "class1",
    };

    /// <summary>The built-in class of a kind (any case, with or without <c>-</c> or <c>_</c>); null for another kind.</summary>
    public static string? BuiltInFor(string? kind) => kind is null ? null : BuiltInKinds.GetValueOrDefault(Fold(kind));

    /// <summary>The kinds that have a built-in class, as the twin names them, with that class.</summary>
    public static IReadOnlyDictionary<string, string> BuiltIn => BuiltInKinds;

    /// <summary>The table of a class name; throws for an unknown name (validate with <see cref="ByName"/> first).</summary>
    public static IsoZoneBoundaries Of(string name) =>
        ByName.TryGetValue(name, out var table) ? table : throw new ArgumentException($"'{name}' is not an ISO 10816 class", nameof(name));

    /// <summary>
    /// The table a machine is judged by: its own class, else its kind's (the tenant's, then the built-in one), else
    /// <see cref="Default"/>.
    /// </summary>
    public static IsoZoneBoundaries Resolve(string? machineClass, string? kindClass, string? kind) =>
        Of(machineClass ?? kindClass ?? BuiltInFor(kind) ?? Default);

    private static string Fold(string kind) =>
        string.Concat(kind.Where(c => c is not ('-' or '_'))).ToLowerInvariant();
}
