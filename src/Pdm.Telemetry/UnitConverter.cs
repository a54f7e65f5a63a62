namespace Pdm.Telemetry;

/// <summary>
/// Converts values between units of the same quantity (degF to degC, psi to bar, in/s to mm/s, ...).
/// Unit names are case-sensitive (<c>mA</c> is not <c>MA</c>).
/// </summary>
public static class UnitConverter
{
    // Each unit maps to its quantity's base unit as base = (value + Offset) * Scale.
    private readonly record struct UnitInfo(string Quantity, double Scale, double Offset = 0);

    private static readonly Dictionary<string, UnitInfo> Units = new(StringComparer.Ordinal)
    {
        ["degC"] = new("temperature", 1),
        ["°C"] = new("temperature", 1),
        ["degF"] = new("temperature", 5.0 / 9.0, -32),
        ["°F"] = new("temperature", 5.0 / 9.0, -32),
        ["K"] = new("temperature", 1, -273.15),

        ["rpm"] = new("rotation", 1),
        ["1/min"] = new("rotation", 1),
        ["rev/min"] = new("rotation", 1),
        ["rev/s"] = new("rotation", 60),
        ["Hz"] = new("rotation", 60),

        ["m/s"] = new("velocity", 1),
        ["mm/s"] = new("velocity", 0.001),
        ["in/s"] = new("velocity", 0.0254),
        ["m/min"] = new("velocity", 1.0 / 60.0),
        ["ft/min"] = new("velocity", 0.3048 / 60.0),
        ["ft/s"] = new("velocity", 0.3048),
        ["km/h"] = new("velocity", 1.0 / 3.6),

        ["bar"] = new("pressure", 1),
        ["mbar"] = new("pressure", 0.001),
        ["hPa"] = new("pressure", 0.001),
        ["kPa"] = new("pressure", 0.01),
        ["Pa"] = new("pressure", 1e-5),
        ["MPa"] = new("pressure", 10),
        ["psi"] = new("pressure", 0.0689475729316836),
        ["atm"] = new("pressure", 1.01325),

        ["um"] = new("length", 1),
        ["µm"] = new("length", 1),
        ["nm"] = new("length", 0.001),
        ["mm"] = new("length", 1000),
        ["m"] = new("length", 1e6),
        ["mil"] = new("length", 25.4),
        ["in"] = new("length", 25400),

        ["%"] = new("fraction", 1),
        ["ratio"] = new("fraction", 100),

        ["m3/h"] = new("flow", 1),
        ["m³/h"] = new("flow", 1),
        ["m3/min"] = new("flow", 60),
        ["m3/s"] = new("flow", 3600),
        ["L/min"] = new("flow", 0.06),
        ["L/s"] = new("flow", 3.6),
        ["gpm"] = new("flow", 0.227124707),

        ["A"] = new("current", 1),
        ["mA"] = new("current", 0.001),
        ["kA"] = new("current", 1000),

        ["V"] = new("voltage", 1),
        ["mV"] = new("voltage", 0.001),
        ["kV"] = new("voltage", 1000),

        ["kW"] = new("power", 1),
        ["W"] = new("power", 0.001),
        ["MW"] = new("power", 1000),
        ["hp"] = new("power", 0.745699872),

        ["kWh"] = new("energy", 1),
        ["Wh"] = new("energy", 0.001),
        ["MWh"] = new("energy", 1000),

        ["Nm"] = new("torque", 1),
        ["kNm"] = new("torque", 1000),
        ["lbf.ft"] = new("torque", 1.3558179483),

        ["packs/min"] = new("packs", 1),
        ["packs/h"] = new("packs", 1.0 / 60.0),
        ["packs/s"] = new("packs", 60),

        ["count"] = new("count", 1),
        ["dB"] = new("sound", 1),
    };

    /// <summary>Every unit name the converter understands.</summary>
    public static IEnumerable<string> KnownUnits => Units.Keys;

    /// <summary>
    /// Converts <paramref name="value"/> from <paramref name="fromUnit"/> to <paramref name="toUnit"/>.
    /// False when either unit is unknown or they measure different quantities.
    /// </summary>
    public static bool TryConvert(double value, string fromUnit, string toUnit, out double converted)
    {
        if (string.Equals(fromUnit, toUnit, StringComparison.Ordinal))
        {
            converted = value;
            return true;
        }
        if (!Units.TryGetValue(fromUnit, out var from) || !Units.TryGetValue(toUnit, out var to)
            || from.Quantity != to.Quantity)
        {
            converted = value;
            return false;
        }
        converted = ((value + from.Offset) * from.Scale / to.Scale) - to.Offset;
        return true;
    }
}
