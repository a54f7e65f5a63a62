using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>
/// API keys: <c>Authorization: Bearer pdm_…</c> or <c>X-Api-Key: pdm_…</c>. The key decides the tenant; nothing in
/// the path or body can widen it. Keys are stored hashed and compared in constant time by the storage library.
/// </summary>
internal static class ApiKeyAuthentication
{
    private const string PrincipalItem = "pdm.principal";

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var key = PresentedKey(http.Request);
            if (key is null)
            {
                return Problems.Unauthorized("Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
            }
            var database = http.RequestServices.GetRequiredService<PdmDatabase>();
            var principal = await database.AuthenticateApiKeyAsync(key, http.RequestAborted);
            if (principal is null)
            {
                return Problems.Unauthorized("The API key is unknown or revoked.");
            }
            http.Items[PrincipalItem] = principal;
            return await next(context);
        });

    public static ApiPrincipal Principal(this HttpContext http) =>
        (ApiPrincipal)(http.Items[PrincipalItem] ?? throw new InvalidOperationException("endpoint is not behind RequireApiKey"));

    private static string? PresentedKey(HttpRequest request)
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
