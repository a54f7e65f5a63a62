using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>
/// Microsoft Entra ID bearer tokens: validated by the JwtBearer handler (issuer, audience, lifetime, and a signature
/// by a key from the authority's OpenID metadata), then mapped to a PDM caller: claim <c>tid</c> names the directory,
/// which must be linked to a tenant (PATCH /api/v1/tenants/{id}, <c>entraTenantId</c>); claim <c>roles</c> must hold
/// one of the app roles viewer, operator, admin (the highest counts). Platform administration stays with keys.
/// </summary>
internal static class EntraAuthentication
{
    public const string Scheme = "Entra";
    private static readonly ApiKeyRole[] Roles = [ApiKeyRole.Viewer, ApiKeyRole.Operator, ApiKeyRole.Admin];
    public static readonly string[] AppRoles = [.. Roles.Select(ApiKeyRoles.Name)];

    public static AuthenticationBuilder AddEntraBearer(this AuthenticationBuilder authentication)
    {
        authentication.Services.AddOptions<EntraOptions>().BindConfiguration(EntraOptions.Section).ValidateOnStart();
        authentication.Services.AddSingleton<IValidateOptions<EntraOptions>, EntraOptionsValidation>();
        authentication.AddJwtBearer(Scheme, _ => { });
        authentication.Services.AddOptions<JwtBearerOptions>(Scheme).Configure<IOptions<EntraOptions>>((jwt, options) =>
        {
            var entra = options.Value;
            if (!entra.Enabled)
            {
                return;
            }
            jwt.Authority = entra.Authority;
            jwt.Audience = entra.Audience;
            jwt.RequireHttpsMetadata = entra.RequireHttpsMetadata;
            // Keep the token's own claim names (tid, roles, oid): they are what the mapping below reads.
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters.ValidateAudience = true;
            jwt.TokenValidationParameters.ValidateIssuer = true;
            jwt.TokenValidationParameters.ValidateLifetime = true;
            jwt.TokenValidationParameters.ClockSkew = TimeSpan.FromMinutes(2);
            if (!string.IsNullOrWhiteSpace(entra.Issuer))
            {
                jwt.TokenValidationParameters.ValidIssuer = entra.Issuer;
            }
        });
        return authentication;
    }

    /// <summary>A bearer value that is a JWT (three dot-separated parts) rather than a PDM key.</summary>
    public static bool LooksLikeJwt(string presented) =>
        !presented.StartsWith("pdm_", StringComparison.Ordinal) && presented.Count(c => c == '.') == 2;

    /// <summary>Why a validated-or-not token gets the answer it gets, in words an integrator can act on.</summary>
    public static string Reason(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException => "the token has expired",
        SecurityTokenNotYetValidException => "the token is not valid yet",
        SecurityTokenInvalidAudienceException => "the token was issued for another audience",
        SecurityTokenInvalidIssuerException => "the token was issued by another issuer",
        SecurityTokenSignatureKeyNotFoundException => "the token is signed by a key the issuer does not publish",
        SecurityTokenInvalidSignatureException => "the token's signature is not valid",
        null => "no token was found",
        _ => "the token could not be validated",
    };

    /// <summary>
    /// The PDM caller of a validated token, or the refusal: 403 when the directory is not linked to a tenant or the
    /// token holds no PDM app role.
    /// </summary>
    public static async Task<(ApiPrincipal? Principal, ApiKeyRejectedException? Refusal)> MapAsync(ClaimsPrincipal token,
        TenantStore tenants, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(token.FindFirst("tid")?.Value, out var directory))
        {
            return (null, new ApiKeyRejectedException(StatusCodes.Status403Forbidden, "Forbidden",
                "The token has no 'tid' claim naming its Entra directory.", null));
        }
        var role = token.FindAll("roles").Select(c => Array.IndexOf(AppRoles, c.Value)).DefaultIfEmpty(-1).Max();
        if (role < 0)
        {
            return (null, new ApiKeyRejectedException(StatusCodes.Status403Forbidden, "Forbidden",
                $"The token's 'roles' claim holds none of the app roles {string.Join(", ", AppRoles)}.", null));
        }
        if (await tenants.FindByEntraTenantAsync(directory, cancellationToken) is not { } tenant)
        {
            return (null, new ApiKeyRejectedException(StatusCodes.Status403Forbidden, "Forbidden",
                $"Entra directory {directory} is not linked to a PDM tenant.", null));
        }
        var subject = token.FindFirst("oid")?.Value ?? token.FindFirst("sub")?.Value ?? "unknown";
        var name = token.FindFirst("preferred_username")?.Value ?? token.FindFirst("upn")?.Value ?? subject;
        // The rate limiter partitions by caller id: one per Entra user (object id), stable across tokens.
        var callerId = Guid.TryParse(subject, out var objectId) ? objectId : new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(subject)).AsSpan(0, 16));
        return (new ApiPrincipal(callerId, tenant, Roles[role], $"entra:{name}"), null);
    }
}
