using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>
/// API keys: <c>Authorization: Bearer pdm_…</c> or <c>X-Api-Key: pdm_…</c>. The key decides the tenant; nothing in
/// the path or body can widen it. Keys are stored hashed and compared in constant time by the storage library.
/// An authentication scheme (not an endpoint filter) so that the authorization middleware refuses a request before
/// its endpoint binds, and so reads, the body.
/// </summary>
internal static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    public const string Policy = "ApiKey";
    private const string PrincipalItem = "pdm.principal";

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<FailedAuthLimiter>();
        // No default scheme: only endpoints under the policy authenticate, so invocations and health never count as
        // failures. ASP.NET Core makes a lone scheme the default unless this switch is set (options read it once).
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(Scheme, null).AddEntraBearer();
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        return services;
    }

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group) => group.RequireAuthorization(Policy);

    public static ApiPrincipal Principal(this HttpContext http) =>
        (ApiPrincipal)(http.Items[PrincipalItem] ?? throw new InvalidOperationException("endpoint is not behind RequireApiKey"));

    /// <summary>The authenticated key of this request, if any (the rate limiter partitions on it).</summary>
    public static ApiPrincipal? AuthenticatedKey(this HttpContext http) => http.Items[PrincipalItem] as ApiPrincipal;

    internal static void SetPrincipal(HttpContext http, ApiPrincipal principal) => http.Items[PrincipalItem] = principal;

    internal static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }
}

/// <summary>Checks the presented key; a client address with too many failures is refused before its key is looked up.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyStore apiKeys,
    TenantStore tenants,
    IOptions<EntraOptions> entra,
    TimeProvider clock,
    FailedAuthLimiter failures,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var address = Context.Connection.RemoteIpAddress;
        if (failures.IsBlocked(address, out var retryAfter))
        {
            return AuthenticateResult.Fail(new ApiKeyRejectedException(StatusCodes.Status429TooManyRequests, "Too many requests",
                "Too many failed authentication attempts from this address; try again later.", retryAfter));
        }
        var key = ApiKeyAuthentication.PresentedKey(Request);
        if (string.IsNullOrEmpty(key))
        {
            failures.Record(address);
            return AuthenticateResult.Fail(new ApiKeyRejectedException(StatusCodes.Status401Unauthorized, "Unauthorized",
                "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.", null));
        }
        if (entra.Value.Enabled && EntraAuthentication.LooksLikeJwt(key))
        {
            return await AuthenticateEntraAsync(address);
        }
        var principal = await apiKeys.AuthenticateApiKeyAsync(key, Context.RequestAborted);
        if (principal is null)
        {
            failures.Record(address);
            return AuthenticateResult.Fail(new ApiKeyRejectedException(StatusCodes.Status401Unauthorized, "Unauthorized",
                "The API key is unknown or revoked.", null));
        }
        await apiKeys.RecordUseAsync(principal.KeyId, clock.GetUtcNow(), Context.RequestAborted);
        return Success(principal);
    }

    private async Task<AuthenticateResult> AuthenticateEntraAsync(System.Net.IPAddress? address)
    {
        var token = await Context.AuthenticateAsync(EntraAuthentication.Scheme);
        if (!token.Succeeded)
        {
            failures.Record(address);
            return AuthenticateResult.Fail(new ApiKeyRejectedException(StatusCodes.Status401Unauthorized, "Unauthorized",
                $"The bearer token was refused: {EntraAuthentication.Reason(token.Failure)}.", null));
        }
        var (principal, refusal) = await EntraAuthentication.MapAsync(token.Principal, tenants, Context.RequestAborted);
        return principal is null ? AuthenticateResult.Fail(refusal!) : Success(principal);
    }

    private AuthenticateResult Success(ApiPrincipal principal)
    {
        ApiKeyAuthentication.SetPrincipal(Context, principal);
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, principal.KeyId.ToString()),
            new Claim(ClaimTypes.Name, principal.Name),
            new Claim(ClaimTypes.Role, ApiKeyRoles.Name(principal.Role)),
        ], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var rejection = result.Failure as ApiKeyRejectedException
            ?? new ApiKeyRejectedException(StatusCodes.Status401Unauthorized, "Unauthorized", "An API key is required.", null);
        Response.StatusCode = rejection.Status;
        if (rejection.RetryAfter is { } wait)
        {
            Response.Headers.RetryAfter = RateLimits.RetryAfterSeconds(wait);
        }
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = rejection.Status, Title = rejection.Title, Detail = rejection.Message },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = StatusCodes.Status403Forbidden, Title = "Forbidden", Detail = "This key may not use this endpoint." },
        });
    }
}

/// <summary>Why a request was not authenticated, and the answer it gets.</summary>
internal sealed class ApiKeyRejectedException(int status, string title, string detail, TimeSpan? retryAfter) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Failed authentications per client address in a fixed window. Once an address has used up its window it is refused
/// without a key lookup until the window ends: guessing keys costs the guesser, not the database.
/// </summary>
internal sealed class FailedAuthLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public FailedAuthLimiter(IOptions<ApiOptions> options)
    {
        var api = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = api.FailedAuthPerAddress, Window = api.FailedAuthWindow, QueueLimit = 0 }));
    }

    /// <summary>True when the address has no failures left in this window.</summary>
    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter)
    {
        // Asking for zero permits tells whether any are left without using one.
        using var lease = _limiter.AttemptAcquire(Key(address), 0);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return !lease.IsAcquired;
    }

    public void Record(IPAddress? address)
    {
        using var lease = _limiter.AttemptAcquire(Key(address));
    }

    public void Dispose() => _limiter.Dispose();

    private static string Key(IPAddress? address) => address?.ToString() ?? "unknown";
}

/// <summary>Rate limits of the API: per client address and per API key, answered with 429 and Retry-After.</summary>
internal static class RateLimits
{
    public static IServiceCollection AddApiRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<Microsoft.AspNetCore.RateLimiting.RateLimiterOptions>().Configure<IOptions<ApiOptions>>((limiter, options) =>
        {
            var api = options.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(http => IsApi(http)
                    ? Window("address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown"), api.RequestsPerAddress, api.RateWindow)
                    : RateLimitPartition.GetNoLimiter("")),
                PartitionedRateLimiter.Create<HttpContext, string>(http => http.AuthenticatedKey() is { } key
                    ? Window("key:" + key.KeyId, api.RequestsPerKey, api.RateWindow)
                    : RateLimitPartition.GetNoLimiter("")));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : api.RateWindow;
                http.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = http.AuthenticatedKey() is null
                            ? $"This address made more than {api.RequestsPerAddress} requests in {api.RateWindow}; try again later."
                            : $"This key or address made more requests than allowed ({api.RequestsPerKey} per key, {api.RequestsPerAddress} per address in {api.RateWindow}); try again later.",
                    },
                });
            };
        });
        return services;
    }

    public static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>The REST API (proxied by the host under /api); invocations posted by the host are never limited.</summary>
    private static bool IsApi(HttpContext http) => http.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    private static RateLimitPartition<string> Window(string key, int permits, TimeSpan window) =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 });
}
