using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Pdm.Dashboard.Tests;

/// <summary>
/// A stand-in for Microsoft Entra ID that the dashboard tests serve over HTTPS on loopback (msal-browser talks to https
/// authorities only): OpenID discovery, JWKS, an /authorize endpoint that signs <see cref="NextUser"/> in at once and
/// sends a code back, a /token endpoint that redeems the code only with the PKCE verifier that matches its challenge
/// (and renews with refresh tokens), and a logout endpoint. Tokens carry the claims Entra's do (tid, roles, oid,
/// preferred_username) and are signed with a key the function app finds in the JWKS, as it would find Entra's.
/// </summary>
public sealed class TestOpenIdProvider : IAsyncDisposable
{
    public const string ClientId = "6b0e8f2c-0d15-4c1a-9d2e-000000000001";
    public const string Audience = "api://pdm-dashboard-tests";
    public const string Scope = Audience + "/access_as_user";
    private const string DirectoryPath = "/pdm-directory/v2.0";

    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly RSA _strangerKey = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentDictionary<string, Grant> _codes = new();
    private readonly ConcurrentDictionary<string, Grant> _refreshTokens = new();
    private WebApplication _app = null!;
    private int _authorizations;
    private int _codesRedeemed;
    private int _verifierRefusals;
    private int _refreshes;
    private int _signOuts;

    private TestOpenIdProvider(X509Certificate2 certificate) => _certificate = certificate;

    /// <summary>Authority the app validates against and the browser signs in at: https://127.0.0.1:port/pdm-directory/v2.0.</summary>
    public string Authority { get; private set; } = "";

    /// <summary>The certificate's PEM file: the function app trusts it (SSL_CERT_FILE) to read the metadata and keys.</summary>
    public string CertificatePath { get; private set; } = "";

    /// <summary>Where the authorization response goes: the dashboard's address, as registered for the SPA.</summary>
    public string RedirectUri { get; set; } = "";

    /// <summary>Who /authorize signs in next.</summary>
    public TestUser NextUser { get; set; } = new("nobody@plant.example", Guid.Empty, []);

    /// <summary>Access token lifetime: under msal-browser's 5-minute renewal margin, every call renews it silently.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Signs new tokens with a key the JWKS does not publish: the API must refuse them.</summary>
    public bool SignWithStrangerKey { get; set; }

    public int Authorizations => _authorizations;
    public int CodesRedeemed => _codesRedeemed;
    public int VerifierRefusals => _verifierRefusals;
    public int Refreshes => _refreshes;
    public int SignOuts => _signOuts;

    public static async Task<TestOpenIdProvider> StartAsync()
    {
        var provider = new TestOpenIdProvider(CreateCertificate());
        await provider.StartServerAsync();
        return provider;
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=pdm-test-openid-provider", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        // Exported and loaded again: Kestrel on Linux needs the private key in a form it can hand to OpenSSL.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private async Task StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(_certificate)));
        // The browser reads metadata and redeems codes from the dashboard's origin, as it does with Entra.
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod()));
        _app = builder.Build();
        _app.UseCors();
        var directory = _app.MapGroup(DirectoryPath);
        directory.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Authority,
            ["authorization_endpoint"] = $"{Authority}/oauth2/authorize",
            ["token_endpoint"] = $"{Authority}/oauth2/token",
            ["end_session_endpoint"] = $"{Authority}/oauth2/logout",
            ["jwks_uri"] = $"{Authority}/discovery/keys",
            ["response_types_supported"] = new[] { "code" },
            ["response_modes_supported"] = new[] { "query", "fragment" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["scopes_supported"] = new[] { "openid", "profile", "offline_access" },
            ["subject_types_supported"] = new[] { "pairwise" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        directory.MapGet("/discovery/keys", () =>
        {
            var key = _signingKey.ExportParameters(false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "dashboard-test-key",
                n = Base64Url.EncodeToString(key.Modulus), e = Base64Url.EncodeToString(key.Exponent) } } });
        });
        directory.MapGet("/oauth2/authorize", Authorize);
        directory.MapPost("/oauth2/token", RedeemAsync);
        directory.MapGet("/oauth2/logout", (HttpRequest request) =>
        {
            var back = request.Query["post_logout_redirect_uri"].ToString();
            if (back != RedirectUri)
            {
                return Results.BadRequest($"post_logout_redirect_uri '{back}' is not registered");
            }
            Interlocked.Increment(ref _signOuts);
            return Results.Redirect(back);
        });
        await _app.StartAsync();
        var address = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        Authority = $"https://127.0.0.1:{address.Port}{DirectoryPath}";
        CertificatePath = Path.Combine(Path.GetTempPath(), $"pdm-test-op-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(CertificatePath, _certificate.ExportCertificatePem());
    }

    /// <summary>Signs <see cref="NextUser"/> in without a form; refuses what Entra would refuse for this app registration.</summary>
    private IResult Authorize(HttpRequest request)
    {
        var query = request.Query;
        var redirect = query["redirect_uri"].ToString();
        if (query["client_id"] != ClientId || redirect != RedirectUri)
        {
            // Entra shows an error page rather than redirecting to an unregistered address.
            return Results.BadRequest($"unknown client '{query["client_id"]}' or unregistered redirect_uri '{redirect}'");
        }
        string? error = query["response_type"] != "code" ? "response_type must be code"
            : query["code_challenge_method"] != "S256" || string.IsNullOrEmpty(query["code_challenge"]) ? "PKCE (S256) is required"
            : !query["scope"].ToString().Split(' ').Contains(Scope) ? $"the scope {Scope} was not requested"
            : null;
        var fields = new Dictionary<string, string?> { ["state"] = query["state"] };
        if (error is null)
        {
            var code = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            _codes[code] = new Grant(NextUser, query["code_challenge"]!, query["nonce"], redirect);
            fields["code"] = code;
            Interlocked.Increment(ref _authorizations);
        }
        else
        {
            fields["error"] = "invalid_request";
            fields["error_description"] = error;
        }
        var encoded = string.Join('&', fields.Where(f => f.Value is not null).Select(f => $"{f.Key}={Uri.EscapeDataString(f.Value!)}"));
        return Results.Redirect(query["response_mode"] == "query" ? $"{redirect}?{encoded}" : $"{redirect}#{encoded}");
    }

    private async Task<IResult> RedeemAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        if (form["client_id"] != ClientId)
        {
            return TokenError("invalid_client", $"unknown client '{form["client_id"]}'");
        }
        Grant? grant;
        switch (form["grant_type"].ToString())
        {
            case "authorization_code":
                if (!_codes.TryRemove(form["code"].ToString(), out grant) || form["redirect_uri"] != grant.RedirectUri)
                {
                    return TokenError("invalid_grant", "the code is unknown, used, or was issued for another redirect_uri");
                }
                var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString())));
                if (challenge != grant.CodeChallenge)
                {
                    Interlocked.Increment(ref _verifierRefusals);
                    return TokenError("invalid_grant", "the code_verifier does not match the code_challenge");
                }
                Interlocked.Increment(ref _codesRedeemed);
                break;
            case "refresh_token":
                if (!_refreshTokens.TryRemove(form["refresh_token"].ToString(), out grant))
                {
                    return TokenError("invalid_grant", "the refresh token is unknown or used");
                }
                Interlocked.Increment(ref _refreshes);
                break;
            default:
                return TokenError("unsupported_grant_type", $"grant_type '{form["grant_type"]}'");
        }
        var refreshToken = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        _refreshTokens[refreshToken] = grant with { Nonce = null };
        var lifetime = AccessTokenLifetime;
        return Results.Json(new Dictionary<string, object?>
        {
            ["token_type"] = "Bearer",
            ["scope"] = Scope,
            ["expires_in"] = (int)lifetime.TotalSeconds,
            ["ext_expires_in"] = (int)lifetime.TotalSeconds,
            ["access_token"] = Sign(Audience, lifetime, new Dictionary<string, object>
            {
                ["tid"] = grant.User.Directory.ToString(),
                ["oid"] = grant.User.ObjectId.ToString(),
                ["sub"] = grant.User.ObjectId.ToString(),
                ["preferred_username"] = grant.User.Name,
                ["roles"] = grant.User.Roles,
                ["scp"] = "access_as_user",
                ["azp"] = ClientId,
            }),
            ["id_token"] = Sign(ClientId, TimeSpan.FromHours(1), new Dictionary<string, object>
            {
                ["tid"] = grant.User.Directory.ToString(),
                ["oid"] = grant.User.ObjectId.ToString(),
                ["sub"] = grant.User.ObjectId.ToString(),
                ["preferred_username"] = grant.User.Name,
                ["name"] = grant.User.Name,
                ["nonce"] = grant.Nonce ?? "",
            }),
            ["refresh_token"] = refreshToken,
        });
    }

    private static IResult TokenError(string error, string description) =>
        Results.Json(new { error, error_description = description }, statusCode: StatusCodes.Status400BadRequest);

    private string Sign(string audience, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        var now = DateTime.UtcNow;
        var key = SignWithStrangerKey ? new RsaSecurityKey(_strangerKey) { KeyId = "stranger" } : new RsaSecurityKey(_signingKey) { KeyId = "dashboard-test-key" };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Authority,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
        File.Delete(CertificatePath);
        _certificate.Dispose();
        _signingKey.Dispose();
        _strangerKey.Dispose();
    }

    private sealed record Grant(TestUser User, string CodeChallenge, string? Nonce, string RedirectUri);
}

/// <summary>A user of the test directory: name (preferred_username), directory (tid) and app roles.</summary>
public sealed record TestUser(string Name, Guid Directory, string[] Roles)
{
    public Guid ObjectId { get; } = Guid.NewGuid();
}
