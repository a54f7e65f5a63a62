using System.Diagnostics.CodeAnalysis;

namespace Pdm.Telemetry;

/// <summary>
/// A sensor the platform knows: the unit its values are stored in and the range a real machine can produce.
/// Values outside <see cref="Min"/>..<see cref="Max"/> are faults of the sensor or the gateway, not readings.
/// A <see cref="Cumulative"/> sensor is a running total (a counter or a meter) that only grows until it is reset.
/// </summary>
public sealed record SensorDefinition(string Name, string Unit, double Min, double Max, string Description, bool Cumulative = false)
{
    public bool IsInRange(double value) => value >= Min && value <= Max;
}

/// <summary>The known sensors. Other well-formed sensor names are accepted as custom sensors without a unit.</summary>
public static class SensorCatalog
{
    /// <summary>Longest sensor name: 63 characters (<c>^[a-z][a-z0-9_]{0,62}$</c>).</summary>
    public const int MaxNameLength = 63;

    private static readonly SensorDefinition[] Definitions =
    [
        new("temperature", "degC", -50, 400, "Process or machine temperature"),
        new("motor_temperature", "degC", -50, 400, "Motor winding or housing temperature"),
        new("bearing_temperature", "degC", -50, 400, "Bearing temperature"),
        new("ambient_temperature", "degC", -50, 100, "Air temperature around the machine"),
        new("spindle_speed", "rpm", 0, 60000, "Spindle rotational speed"),
        new("speed", "rpm", 0, 60000, "Shaft rotational speed"),
        new("vibration", "mm/s", 0, 100, "Vibration velocity, RMS (ISO 10816)"),
        new("vibration_x", "mm/s", 0, 100, "Vibration velocity, RMS, X axis"),
        new("vibration_y", "mm/s", 0, 100, "Vibration velocity, RMS, Y axis"),
        new("vibration_z", "mm/s", 0, 100, "Vibration velocity, RMS, Z axis"),
        new("conveyor_speed", "m/min", 0, 600, "Belt speed of a conveyor"),
        new("efficiency", "%", 0, 100, "Efficiency of the machine or process"),
        new("load", "%", 0, 200, "Load relative to rated load"),
        new("humidity", "%", 0, 100, "Relative humidity"),
        new("pressure", "bar", 0, 1000, "Pressure (gauge)"),
        new("precision", "um", 0, 1000, "Positioning or machining deviation"),
        new("test_cycles", "count", 0, 1e9, "Completed test cycles", Cumulative: true),
        new("packaging_speed", "packs/min", 0, 10000, "Packs produced per minute"),
        new("flow", "m3/h", 0, 10000, "Volumetric flow"),
        new("current", "A", 0, 5000, "Electric current"),
        new("voltage", "V", 0, 50000, "Electric voltage"),
        new("power", "kW", 0, 100000, "Active electric power"),
        new("energy", "kWh", 0, 1e12, "Energy meter reading", Cumulative: true),
        new("torque", "Nm", -100000, 100000, "Shaft torque"),
        new("noise", "dB", 0, 200, "Sound pressure level"),
    ];

    private static readonly Dictionary<string, SensorDefinition> ByName =
        Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static readonly Dictionary<string, SensorDefinition>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Every known sensor, in catalog order.</summary>
    public static IReadOnlyList<SensorDefinition> All => Definitions;

    public static bool TryGet(string name, [NotNullWhen(true)] out SensorDefinition? definition) =>
        ByName.TryGetValue(name, out definition);

    /// <summary>Lookup without allocating a string; the decoder uses it on every value.</summary>
    public static bool TryGet(ReadOnlySpan<char> name, [NotNullWhen(true)] out SensorDefinition? definition) =>
        BySpan.TryGetValue(name, out definition);

    /// <summary>Whether the sensor is a known running total (<see cref="SensorDefinition.Cumulative"/>).</summary>
    public static bool IsCumulative(string name) => ByName.TryGetValue(name, out var definition) && definition.Cumulative;

    /// <summary>Whether <paramref name="name"/> is lower snake case: <c>^[a-z][a-z0-9_]{0,62}$</c>.</summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxNameLength || name[0] is < 'a' or > 'z')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
