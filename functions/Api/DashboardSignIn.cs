using Microsoft.Extensions.Options;

namespace Pdm.Functions.Api;

/// <summary>
/// What the dashboard needs to sign in with Microsoft Entra ID, served at <c>/api/dashboard/sign-in.json</c> without
/// authentication (a client id, an authority and scopes are public by design: nothing secret), so one build of the
/// page serves every deployment. <see cref="Entra"/> is null where browser sign-in is not configured: the page then
/// offers API keys only.
/// </summary>
internal sealed record DashboardSignIn(DashboardSignIn.EntraSignIn? Entra)
{
    public const string Path = DashboardPages.Prefix + "/sign-in.json";

    /// <summary>Hosts of Microsoft's own sign-in (public and national clouds): msal-browser speaks its AAD dialect there.</summary>
    private static readonly string[] MicrosoftHosts =
    [
        "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
        "login.microsoftonline.us", "login.chinacloudapi.cn", "login.partner.microsoftonline.cn",
    ];

    /// <param name="ProtocolMode">msal-browser's protocolMode: <c>AAD</c> for Microsoft's hosts, <c>OIDC</c> for any other OpenID provider.</param>
    /// <param name="KnownAuthorities">Hosts msal-browser may trust without asking Microsoft's instance discovery.</param>
    internal sealed record EntraSignIn(string ClientId, string Authority, IReadOnlyList<string> Scopes, string ProtocolMode,
        IReadOnlyList<string> KnownAuthorities);

    /// <summary>The origin the page talks to for sign-in and renewal (its CSP allows it), or null without Entra.</summary>
    public string? AuthorityOrigin => Entra is null ? null : new Uri(Entra.Authority).GetLeftPart(UriPartial.Authority);

    public static DashboardSignIn From(EntraOptions options)
    {
        if (!options.BrowserSignInEnabled)
        {
            return new DashboardSignIn(Entra: null);
        }
        var authority = new Uri(options.Authority!);
        var microsoft = MicrosoftHosts.Contains(authority.Host, StringComparer.OrdinalIgnoreCase)
            || authority.Host.EndsWith(".ciamlogin.com", StringComparison.OrdinalIgnoreCase);
        return new DashboardSignIn(new EntraSignIn(options.ClientId!.Trim(), authority.AbsoluteUri.TrimEnd('/'), options.BrowserScopes,
            microsoft ? "AAD" : "OIDC", [authority.Authority]));
    }
}

/// <summary>Fails the start when the Entra settings cannot work together (see <see cref="EntraOptions.Problems"/>).</summary>
internal sealed class EntraOptionsValidation : IValidateOptions<EntraOptions>
{
    public ValidateOptionsResult Validate(string? name, EntraOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
