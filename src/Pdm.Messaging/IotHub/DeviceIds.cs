using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Pdm.Messaging.IotHub;

/// <summary>
/// Device ids this platform accepts: a subset of IoT Hub's rules that also works as a Mosquitto user name, in
/// its password and ACL files, and as a topic level.
/// </summary>
public static partial class DeviceIds
{
    public static bool IsValid([NotNullWhen(true)] string? deviceId, out string reason)
    {
        if (deviceId is not null && Pattern().IsMatch(deviceId))
        {
            reason = "";
            return true;
        }
        reason = $"device id '{deviceId}' is not valid: use 1-128 letters, digits, '-', '.' or '_', starting with a letter or digit " +
                 "(':' and spaces break broker credential files; '/', '+' and '#' break topics)";
        return false;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();
}
