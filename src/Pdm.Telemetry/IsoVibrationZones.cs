using System.Text.Json.Serialization;

namespace Pdm.Telemetry;

/// <summary>ISO 10816 evaluation zones: A new machine, B fine for long-term operation, C not fit for long-term
/// operation, D severe enough to cause damage. None when the machine has no vibration sensor or the check is off.
/// In JSON and in the database a zone is its letter; None is not written (null).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VibrationZone>))]
public enum VibrationZone
{
    None = 0,
    A = 1,
    B = 2,
    C = 3,
    D = 4,
}

/// <summary>A zone as the database and the API write it: "A".."D", null for <see cref="VibrationZone.None"/>.</summary>
public static class VibrationZoneText
{
    public static string? Format(VibrationZone zone) => zone == VibrationZone.None ? null : zone.ToString();

    /// <summary>The zone of "A".."D"; null (no zone recorded) is <see cref="VibrationZone.None"/>.</summary>
    /// <exception cref="FormatException">The text is not a zone letter.</exception>
    public static VibrationZone Parse(string? text) => text switch
    {
        null => VibrationZone.None,
        "A" => VibrationZone.A,
        "B" => VibrationZone.B,
        "C" => VibrationZone.C,
        "D" => VibrationZone.D,
        _ => throw new FormatException($"'{text}' is not an ISO 10816 zone (A, B, C or D)."),
    };

    /// <summary>The zone of "A".."D", or null when none was recorded (what the API shows).</summary>
    public static VibrationZone? ParseOrNull(string? text) => Parse(text) is var zone && zone != VibrationZone.None ? zone : null;
}

/// <summary>
/// Zone boundaries in mm/s RMS vibration velocity; a value on a boundary belongs to the worse zone. Presets:
/// ISO 10816-3 (machines above 15 kW): group 1 large machines (300 kW to 50 MW), group 2 medium machines (15 kW to
/// 300 kW), on rigid or flexible foundations; ISO 10816-1 classes I to IV (small machines up to large ones on soft
/// foundations). Shared by the anomaly detectors (a check that needs no training) and the digital twin (its ground truth).
/// </summary>
public sealed record IsoZoneBoundaries(string Name, double BoundaryAB, double BoundaryBC, double BoundaryCD)
{
    public static IsoZoneBoundaries Group1Rigid { get; } = new("ISO 10816-3 group 1, rigid", 2.3, 4.5, 7.1);

    public static IsoZoneBoundaries Group1Flexible { get; } = new("ISO 10816-3 group 1, flexible", 3.5, 7.1, 11.0);

    public static IsoZoneBoundaries Group2Rigid { get; } = new("ISO 10816-3 group 2, rigid", 1.4, 2.8, 4.5);

    public static IsoZoneBoundaries Group2Flexible { get; } = new("ISO 10816-3 group 2, flexible", 2.3, 4.5, 7.1);

    public static IsoZoneBoundaries ClassI { get; } = new("ISO 10816-1 class I", 0.71, 1.8, 4.5);

    public static IsoZoneBoundaries ClassII { get; } = new("ISO 10816-1 class II", 1.12, 2.8, 7.1);

    public static IsoZoneBoundaries ClassIII { get; } = new("ISO 10816-1 class III", 1.8, 4.5, 11.2);

    public static IsoZoneBoundaries ClassIV { get; } = new("ISO 10816-1 class IV", 2.8, 7.1, 18.0);

    /// <summary>The zone of an RMS velocity in mm/s; NaN is <see cref="VibrationZone.None"/>.</summary>
    public VibrationZone Classify(double rmsMillimetresPerSecond) => rmsMillimetresPerSecond switch
    {
        double.NaN => VibrationZone.None,
        var v when v >= BoundaryCD => VibrationZone.D,
        var v when v >= BoundaryBC => VibrationZone.C,
        var v when v >= BoundaryAB => VibrationZone.B,
        _ => VibrationZone.A,
    };

    /// <summary>The highest zone of a sample's vibration values (the given columns of <paramref name="row"/>).</summary>
    public VibrationZone Highest(ReadOnlySpan<double> row, ReadOnlySpan<int> columns)
    {
        var zone = VibrationZone.None;
        foreach (var i in columns)
        {
            var z = Classify(row[i]);
            zone = z > zone ? z : zone;
        }
        return zone;
    }

    /// <summary>The catalog's vibration velocity sensors: <c>vibration</c>, <c>vibration_x</c>, <c>_y</c>, <c>_z</c>.</summary>
    public static bool IsVibrationSensor(string name) =>
        name is "vibration" or "vibration_x" or "vibration_y" or "vibration_z";
}
