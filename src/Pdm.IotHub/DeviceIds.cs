using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Pdm.IotHub;

/// <summary>
/// Device ids this platform accepts: a subset of IoT Hub's rules (case-sensitive, at most 128 ASCII letters, digits
/// and some punctuation) that also works as a Mosquitto user name, in its password and ACL files, and as a topic
/// level; minus the names the platform itself uses on the broker.
/// </summary>
public static partial class DeviceIds
{
    /// <summary>IoT Hub's longest device id.</summary>
    public const int MaxLength = 128;

    /// <summary>
    /// Ids starting with this (in any case) belong to the platform: the broker's service account, the dev host's and
    /// the tools' MQTT client ids. A device can never be registered under one, so it can never take over their
    /// credentials or their session.
    /// </summary>
    public const string PlatformPrefix = "pdm-";

    public static bool IsValid([NotNullWhen(true)] string? deviceId, out string reason)
    {
        if (string.IsNullOrEmpty(deviceId))
        {
            reason = "device id is missing: use 1-128 letters, digits, '-', '.' or '_'";
            return false;
        }
        if (deviceId.Length > MaxLength)
        {
            reason = $"device id is {deviceId.Length} characters long; IoT Hub allows at most {MaxLength}";
            return false;
        }
        if (!Pattern().IsMatch(deviceId))
        {
            // Echo only safe text: the id may hold control characters or be built to break a log line.
            reason = $"device id '{Printable(deviceId)}' is not valid: use letters, digits, '-', '.' or '_', starting with a letter or digit " +
                     "(':' and spaces break broker credential files; '/', '+', '#' and '$' break or reserve topics)";
            return false;
        }
        if (IsPlatformId(deviceId))
        {
            reason = $"device id '{deviceId}' is reserved: ids starting with '{PlatformPrefix}' (any case) belong to the platform's own " +
                     "broker identities and client ids";
            return false;
        }
        reason = "";
        return true;
    }

    /// <summary>True for ids in the platform's namespace (<see cref="PlatformPrefix"/>), which no device may hold.</summary>
    public static bool IsPlatformId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.StartsWith(PlatformPrefix, StringComparison.OrdinalIgnoreCase);
    }

    private static string Printable(string text)
    {
        var shown = text.Length > 40 ? text[..40] + "…" : text;
        return string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c));
    }

    // \z, not $: $ also matches before a final newline, which would end a line in the broker's files.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*\z")]
    private static partial Regex Pattern();
}
