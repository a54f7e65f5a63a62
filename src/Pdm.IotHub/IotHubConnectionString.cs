using System.Diagnostics.CodeAnalysis;

namespace Pdm.IotHub;

/// <summary>
/// An IoT Hub connection string with a symmetric key: a device's or module's
/// (<c>HostName=..;DeviceId=..;SharedAccessKey=..[;ModuleId=..][;GatewayHostName=..]</c>) or a shared access
/// policy's (<c>HostName=..;SharedAccessKeyName=..;SharedAccessKey=..</c>).
/// </summary>
public sealed record IotHubConnectionString
{
    private static readonly string[] KnownKeys =
        ["HostName", "DeviceId", "ModuleId", "SharedAccessKey", "SharedAccessKeyName", "GatewayHostName"];

    public required string HostName { get; init; }
    public string? DeviceId { get; init; }
    public string? ModuleId { get; init; }
    public required string SharedAccessKey { get; init; }
    public string? SharedAccessKeyName { get; init; }

    /// <summary>The edge gateway to connect through instead of the hub (a downstream device or module).</summary>
    public string? GatewayHostName { get; init; }

    /// <summary>The audience SAS tokens for this identity are signed for.</summary>
    public string ResourceUri => DeviceId is null ? $"{HostName}/devices" : SasToken.ResourceUri(HostName, DeviceId, ModuleId);

    public static IotHubConnectionString Parse(string connectionString) =>
        TryParse(connectionString, out var parsed, out var error) ? parsed : throw new FormatException(error);

    /// <summary>Parses, or says exactly what is wrong (which segment or key, and why).</summary>
    public static bool TryParse(string? connectionString, [NotNullWhen(true)] out IotHubConnectionString? parsed,
        [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error = "The IoT Hub connection string is empty.";
            return false;
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var segments = connectionString.Split(';');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i].Trim();
            if (segment.Length == 0)
            {
                continue;
            }
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"Segment {i + 1} ('{Redact(segment)}') is not Key=Value.";
                return false;
            }
            var key = segment[..equals].Trim();
            var value = segment[(equals + 1)..].Trim();
            var known = KnownKeys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                error = $"Unknown key '{key}' in segment {i + 1}; expected {string.Join(", ", KnownKeys)}.";
                return false;
            }
            if (value.Length == 0)
            {
                error = $"{known} is empty.";
                return false;
            }
            if (!values.TryAdd(known, value))
            {
                error = $"{known} appears more than once.";
                return false;
            }
        }

        if (!values.TryGetValue("HostName", out var hostName))
        {
            error = "HostName is missing.";
            return false;
        }
        if (!values.TryGetValue("SharedAccessKey", out var sharedAccessKey))
        {
            error = "SharedAccessKey is missing (connection strings for X.509 identities are not supported).";
            return false;
        }
        if (!IsBase64(sharedAccessKey))
        {
            error = "SharedAccessKey is not valid base64.";
            return false;
        }
        values.TryGetValue("DeviceId", out var deviceId);
        values.TryGetValue("ModuleId", out var moduleId);
        values.TryGetValue("SharedAccessKeyName", out var keyName);
        if (deviceId is null && keyName is null)
        {
            error = "DeviceId is missing (or SharedAccessKeyName, for a shared access policy).";
            return false;
        }
        if (moduleId is not null && deviceId is null)
        {
            error = "ModuleId is given without DeviceId.";
            return false;
        }

        parsed = new IotHubConnectionString
        {
            HostName = hostName,
            DeviceId = deviceId,
            ModuleId = moduleId,
            SharedAccessKey = sharedAccessKey,
            SharedAccessKeyName = keyName,
            GatewayHostName = values.GetValueOrDefault("GatewayHostName"),
        };
        error = null;
        return true;
    }

    /// <summary>The record's default ToString would print the key.</summary>
    public override string ToString() =>
        $"HostName={HostName}" + (DeviceId is null ? "" : $";DeviceId={DeviceId}") + (ModuleId is null ? "" : $";ModuleId={ModuleId}")
        + (SharedAccessKeyName is null ? "" : $";SharedAccessKeyName={SharedAccessKeyName}") + ";SharedAccessKey=***"
        + (GatewayHostName is null ? "" : $";GatewayHostName={GatewayHostName}");

    private static bool IsBase64(string value)
    {
        Span<byte> buffer = stackalloc byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out var written) && written > 0;
    }

    private static string Redact(string segment) =>
        segment.StartsWith("SharedAccessKey", StringComparison.OrdinalIgnoreCase) ? "SharedAccessKey..." : segment;
}
