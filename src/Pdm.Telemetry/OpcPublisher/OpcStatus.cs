using System.Globalization;

namespace Pdm.Telemetry.OpcPublisher;

/// <summary>OPC UA status code severity: the top two bits (00 Good, 01 Uncertain, 10 Bad; 11 is reserved).</summary>
public static class OpcStatus
{
    public static bool IsGood(uint code) => code >> 30 == 0;

    public static bool IsUncertain(uint code) => code >> 30 == 1;

    /// <summary>Bad, or the reserved severity, which a receiver cannot trust either.</summary>
    public static bool IsBad(uint code) => code >> 30 >= 2;

    /// <summary><c>BadNoCommunication (0x80310000)</c>, or just the hex code without a symbol.</summary>
    public static string Describe(uint code, string? symbol)
    {
        var hex = "0x" + code.ToString("X8", CultureInfo.InvariantCulture);
        return string.IsNullOrEmpty(symbol) ? hex : $"{symbol} ({hex})";
    }
}
