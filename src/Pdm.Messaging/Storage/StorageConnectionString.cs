using System.Diagnostics.CodeAnalysis;

namespace Pdm.Messaging.Storage;

/// <summary>
/// The settings of an Azure Storage connection string that this client uses. Parsing never throws:
/// a bad string yields a message that names the setting and the reason.
/// </summary>
public sealed record StorageConnectionString
{
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>The well-known, public key of the Azurite / storage emulator account.</summary>
    public const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const string DefaultEndpointSuffix = "core.windows.net";

    private static readonly string[] KnownSettings =
    [
        "UseDevelopmentStorage", "DefaultEndpointsProtocol", "AccountName", "AccountKey", "EndpointSuffix",
        "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint",
    ];

    public required string AccountName { get; init; }

    /// <summary>Base64 account key, or null when the caller authenticates with a token credential.</summary>
    public string? AccountKey { get; init; }

    /// <summary>Null when the string names neither this endpoint nor enough to derive it.</summary>
    public Uri? BlobEndpoint { get; init; }

    /// <summary>Null when the string names neither this endpoint nor enough to derive it.</summary>
    public Uri? QueueEndpoint { get; init; }

    public static bool TryParse(
        string? connectionString,
        [NotNullWhen(true)] out StorageConnectionString? result,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (!TryReadSettings(connectionString, out var settings, out error))
        {
            return false;
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var useDev))
        {
            return TryDevelopment(settings, useDev, out result, out error);
        }

        if (!settings.TryGetValue("AccountName", out var accountName) || accountName.Length == 0)
        {
            error = "AccountName is missing.";
            return false;
        }

        settings.TryGetValue("AccountKey", out var accountKey);
        if (accountKey is not null && !IsBase64(accountKey))
        {
            error = "AccountKey is not valid base64.";
            return false;
        }

        settings.TryGetValue("DefaultEndpointsProtocol", out var protocol);
        if (protocol is not null && protocol != "http" && protocol != "https")
        {
            error = $"DefaultEndpointsProtocol '{protocol}' is not supported: use 'http' or 'https'.";
            return false;
        }

        // As in the Azure SDKs: endpoints are derived from the account name when the string says how
        // (protocol or suffix) or names no endpoint at all; otherwise only explicit ones exist.
        settings.TryGetValue("EndpointSuffix", out var suffix);
        bool anyExplicit = settings.ContainsKey("BlobEndpoint") || settings.ContainsKey("QueueEndpoint")
            || settings.ContainsKey("TableEndpoint") || settings.ContainsKey("FileEndpoint");
        bool derive = protocol is not null || suffix is not null || !anyExplicit;

        if (!TryEndpoint(settings, "BlobEndpoint", "blob", accountName, protocol, suffix, derive, out var blob, out error)
            || !TryEndpoint(settings, "QueueEndpoint", "queue", accountName, protocol, suffix, derive, out var queue, out error))
        {
            return false;
        }

        result = new StorageConnectionString
        {
            AccountName = accountName,
            AccountKey = accountKey,
            BlobEndpoint = blob,
            QueueEndpoint = queue,
        };
        return true;
    }

    private static bool TryReadSettings(
        string? connectionString,
        [NotNullWhen(true)] out Dictionary<string, string>? settings,
        [NotNullWhen(false)] out string? error)
    {
        settings = null;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error = "The connection string is empty.";
            return false;
        }

        var found = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var segments = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            int equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"Setting {i + 1} ('{Shorten(segment)}') is not of the form Name=Value.";
                return false;
            }

            var name = segment[..equals].Trim();
            var value = segment[(equals + 1)..].Trim();
            var known = Array.Find(KnownSettings, k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                error = string.Equals(name, "SharedAccessSignature", StringComparison.OrdinalIgnoreCase)
                    ? "SharedAccessSignature is not supported: use AccountKey, or a token credential without a key."
                    : $"Unknown setting '{name}'. Known settings: {string.Join(", ", KnownSettings)}.";
                return false;
            }

            if (!found.TryAdd(known, value))
            {
                error = $"Setting '{known}' appears more than once.";
                return false;
            }
        }

        if (found.Count == 0)
        {
            error = "The connection string is empty.";
            return false;
        }

        settings = found;
        error = null;
        return true;
    }

    private static bool TryDevelopment(
        Dictionary<string, string> settings,
        string useDev,
        [NotNullWhen(true)] out StorageConnectionString? result,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (!string.Equals(useDev, "true", StringComparison.OrdinalIgnoreCase))
        {
            error = $"UseDevelopmentStorage must be 'true', not '{useDev}'.";
            return false;
        }

        if (settings.Count > 1)
        {
            var others = settings.Keys.Where(k => k != "UseDevelopmentStorage");
            error = $"UseDevelopmentStorage=true cannot be combined with other settings ({string.Join(", ", others)}); "
                + "use the explicit devstoreaccount1 form for other endpoints.";
            return false;
        }

        result = new StorageConnectionString
        {
            AccountName = DevelopmentAccountName,
            AccountKey = DevelopmentAccountKey,
            BlobEndpoint = new Uri("http://127.0.0.1:10000/devstoreaccount1"),
            QueueEndpoint = new Uri("http://127.0.0.1:10001/devstoreaccount1"),
        };
        error = null;
        return true;
    }

    private static bool TryEndpoint(
        Dictionary<string, string> settings,
        string setting,
        string service,
        string accountName,
        string? protocol,
        string? suffix,
        bool derive,
        out Uri? endpoint,
        [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        error = null;
        if (settings.TryGetValue(setting, out var text))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                error = $"{setting} '{text}' is not an absolute http or https URI.";
                return false;
            }

            if (uri.Query.Length > 0)
            {
                error = $"{setting} '{text}' must not have a query string.";
                return false;
            }

            endpoint = uri;
            return true;
        }

        if (derive)
        {
            endpoint = new Uri($"{protocol ?? "https"}://{accountName}.{service}.{suffix ?? DefaultEndpointSuffix}");
        }

        return true;
    }

    private static bool IsBase64(string value)
    {
        var buffer = new byte[value.Length];
        return value.Length > 0 && Convert.TryFromBase64String(value, buffer, out _);
    }

    private static string Shorten(string text) => text.Length <= 20 ? text : text[..20] + "...";
}
