using System.ComponentModel.DataAnnotations;
using Pdm.Prediction;

namespace Pdm.Functions;

/// <summary>App settings of the function app (environment variables <c>Pdm__Database</c> and so on).</summary>
public sealed class PdmOptions
{
    public const string Section = "Pdm";

    /// <summary>Npgsql connection string of the application role (not the table owner: row-level security applies).</summary>
    [Required] public string Database { get; set; } = "";

    /// <summary>
    /// <c>managedidentity</c>: the connection string has no password and every new connection signs in with an Entra
    /// token of the app's managed identity (Azure Database for PostgreSQL); unset: the connection string's own password.
    /// </summary>
    [RegularExpression("^(?i:managedidentity)$", ErrorMessage = "Pdm__DatabaseCredential: the only supported value is 'managedidentity' (or leave it unset).")]
    public string? DatabaseCredential { get; set; }

    /// <summary>Client id of the user-assigned identity that signs in to PostgreSQL; unset: the system-assigned one.</summary>
    public string? DatabaseClientId { get; set; }

    /// <summary>Blob container for batches the database could not take.</summary>
    [Required] public string DeadLetterContainer { get; set; } = "ingest-deadletter";

    /// <summary>Blob container of the model registry's artifacts.</summary>
    [Required] public string ModelContainer { get; set; } = ModelRegistry.DefaultContainer;

    /// <summary>How often the registry is asked which model versions are in production (a promotion shows within it).</summary>
    public TimeSpan ModelCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Samples a machine without a registry model fits its own anomaly model on.</summary>
    [Range(100, 100_000)] public int AnomalyWarmupSamples { get; set; } = 512;

    /// <summary>Time those samples must span at least (a day: shifts and ambient cycles).</summary>
    public TimeSpan AnomalyWarmupSpan { get; set; } = TimeSpan.FromDays(1);

    /// <summary>IoT Hub host name, for example <c>contoso.azure-devices.net</c>; the registry is called with the app's identity.</summary>
    public string? IotHubHostName { get; set; }

    /// <summary>Alternative to identity: a registryReadWrite policy connection string (keep it in Key Vault).</summary>
    public string? IotHubRegistryConnectionString { get; set; }

    /// <summary>
    /// Where registry requests go when not <c>https://{HostName}</c>: locally the stand-in's <c>http://127.0.0.1:port</c>
    /// (plain http is accepted for loopback only).
    /// </summary>
    public Uri? IotHubRegistryEndpoint { get; set; }

    /// <summary>Device endpoint advertised to gateways when a device is registered (host:port).</summary>
    public string? MqttEndpoint { get; set; }
}

/// <summary>
/// Limits of the REST API and of the invocation endpoints (environment variables <c>Pdm__Api__MaxJsonBodyBytes</c> and
/// so on). Rate limits count per client address (as the Functions host forwards it) and per API key.
/// </summary>
public sealed class ApiOptions
{
    public const string Section = "Pdm:Api";

    /// <summary>Largest JSON body of an API request (tenant, key and device requests are a few hundred bytes).</summary>
    [Range(1024, 1024 * 1024)] public long MaxJsonBodyBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Largest invocation the Functions host posts to <c>/Ingest</c>: a batch of up to 256 IoT Hub messages of up to
    /// 256 KB each, JSON-escaped inside the invocation payload.
    /// </summary>
    [Range(1024 * 1024, 1024L * 1024 * 1024)] public long MaxInvocationBodyBytes { get; set; } = 128 * 1024 * 1024;

    /// <summary>Largest body of any other request (timer invocations, requests that take no body).</summary>
    [Range(1024, 16 * 1024 * 1024)] public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Failed authentications (missing, malformed, unknown or revoked key) one client address may make per <see cref="FailedAuthWindow"/>.</summary>
    [Range(1, 100_000)] public int FailedAuthPerAddress { get; set; } = 60;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan FailedAuthWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Authenticated requests one API key may make per <see cref="RateWindow"/>.</summary>
    [Range(1, 1_000_000)] public int RequestsPerKey { get; set; } = 1200;

    /// <summary>Authenticated requests one client address may make per <see cref="RateWindow"/>, whatever keys it uses.</summary>
    [Range(1, 1_000_000)] public int RequestsPerAddress { get; set; } = 2400;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan RateWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Microsoft Entra ID bearer tokens beside the API keys. Off while <see cref="Authority"/> is empty. A token's
/// <c>tid</c> claim picks the PDM tenant linked to that directory; its <c>roles</c> claim (app roles viewer, operator,
/// admin) the role, the highest one listed.
/// </summary>
public sealed class EntraOptions
{
    public const string Section = "Pdm:Entra";

    /// <summary>Where the OpenID metadata and signing keys are, e.g. https://login.microsoftonline.com/{directory}/v2.0.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must be issued for: the API's application id URI or client id.</summary>
    public string? Audience { get; set; }

    /// <summary>The issuer tokens must carry; by default the one the metadata names.</summary>
    public string? Issuer { get; set; }

    /// <summary>False only for a local test issuer served over plain HTTP.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// Client id of the dashboard's app registration (platform: single-page application). Set, the dashboard offers
    /// "Sign in with Microsoft" against <see cref="Authority"/>; unset, it signs in with API keys only.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// The scopes the dashboard asks for (space-separated), e.g. <c>api://pdm/access_as_user</c>; by default
    /// <c>{Audience}/.default</c>, so the tokens it gets are the ones the API accepts.
    /// </summary>
    public string? Scope { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    public bool BrowserSignInEnabled => Enabled && !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>The scopes the browser requests, or none when neither <see cref="Scope"/> nor <see cref="Audience"/> is set.</summary>
    public IReadOnlyList<string> BrowserScopes =>
        !string.IsNullOrWhiteSpace(Scope) ? Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        : !string.IsNullOrWhiteSpace(Audience) ? [Audience.TrimEnd('/') + "/.default"]
        : [];

    /// <summary>Settings that cannot work together, named as the environment variables that set them.</summary>
    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            yield break;
        }
        if (!Enabled)
        {
            yield return "Pdm__Entra__ClientId is set but Pdm__Entra__Authority is not: the dashboard needs the authority to sign in against.";
        }
        else if (!Uri.TryCreate(Authority, UriKind.Absolute, out var authority) || authority.Scheme != Uri.UriSchemeHttps)
        {
            yield return "Pdm__Entra__Authority must be an absolute https URL when Pdm__Entra__ClientId is set (browsers sign in over https only).";
        }
        if (BrowserScopes.Count == 0)
        {
            yield return "Pdm__Entra__ClientId is set but neither Pdm__Entra__Scope nor Pdm__Entra__Audience is: the dashboard would not know which API scope to ask for.";
        }
    }
}
