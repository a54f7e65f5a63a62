using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Pdm.Storage;

namespace Pdm.Functions.Tests;

/// <summary>
/// Microsoft Entra ID bearer tokens, issued by a test issuer these tests serve on Kestrel (OpenID discovery document
/// and JWKS), validated by the app as it validates Entra's: a good token acts for the tenant linked to its directory
/// with the role its app roles give; a wrong audience, a wrong issuer, an expired token or an unknown signing key get
/// 401; a token without a PDM role or from an unlinked directory gets 403. API keys keep working beside it.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EntraAuthenticationTests(ApiFixture fixture) : IAsyncLifetime
{
    private const string Audience = "api://pdm-tests";
    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly RSA _strangerKey = RSA.Create(2048);
    private WebApplication _issuer = null!;
    private string _issuerUrl = "";
    private ApiFactory _app = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _issuer = builder.Build();
        // The path stands for Entra's /{directory}/v2.0: metadata is read from under the authority.
        _issuer.MapGet("/tenant-v2/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = _issuerUrl,
            ["jwks_uri"] = $"{_issuerUrl}/discovery/keys",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        _issuer.MapGet("/tenant-v2/discovery/keys", () =>
        {
            var key = _signingKey.ExportParameters(false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "test-key",
                n = Base64Url.EncodeToString(key.Modulus), e = Base64Url.EncodeToString(key.Exponent) } } });
        });
        await _issuer.StartAsync();
        _issuerUrl = _issuer.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/') + "/tenant-v2";
        _app = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__Entra__Authority"] = _issuerUrl,
            ["Pdm__Entra__Audience"] = Audience,
            ["Pdm__Entra__RequireHttpsMetadata"] = "false",
        });
    }

    [Fact]
    public async Task Tokens_of_a_linked_directory_act_with_their_app_role_and_bad_tokens_are_refused()
    {
        await using var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var tenant = (await stores.Tenants.CreateTenantAsync(AuthorizationTable.Unique("entra"), CancellationToken.None)).Id;
        await stores.Machines.UpsertMachineAsync(tenant, "ENTRA_M1", null, null, CancellationToken.None);
        var directory = Guid.NewGuid();
        using (var platform = _app.Client(fixture.PlatformAdminKey))
        {
            using var linked = await platform.PatchAsJsonAsync($"api/v1/tenants/{tenant}", new { entraTenantId = directory.ToString() });
            Assert.Equal(directory, (await ApiFixture.ReadAsync<JsonElement>(linked)).GetProperty("entraTenantId").GetGuid());
        }

        using (var viewer = _app.Client(Token(directory, ["viewer"])))
        {
            var machine = await ApiFixture.ReadAsync<JsonElement>(await viewer.GetAsync("api/v1/machines/ENTRA_M1"));
            Assert.Equal("ENTRA_M1", machine.GetProperty("machineId").GetString());
            using var patch = await viewer.PatchAsJsonAsync("api/v1/machines/ENTRA_M1", new { location = "Hall 1" });
            Assert.Equal(HttpStatusCode.Forbidden, patch.StatusCode);
        }
        using (var admin = _app.Client(Token(directory, ["viewer", "admin"])))
        {
            using var patch = await admin.PatchAsJsonAsync("api/v1/machines/ENTRA_M1", new { location = "Hall 1" });
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            var log = await ApiFixture.ReadAsync<JsonElement>(await admin.GetAsync("api/v1/audit-log?action=machine.update"));
            Assert.Equal("entra:maria@plant.example", log.GetProperty("items")[0].GetProperty("actor").GetString());
        }

        await AssertRefused(Token(directory, ["admin"], audience: "api://someone-else"), 401, "audience");
        await AssertRefused(Token(directory, ["admin"], issuer: "https://login.example/other/v2.0"), 401, "issuer");
        await AssertRefused(Token(directory, ["admin"], expires: DateTime.UtcNow.AddHours(-1)), 401, "expired");
        await AssertRefused(Token(directory, ["admin"], key: _strangerKey, keyId: "stranger"), 401, "key");
        await AssertRefused(Token(directory, ["reader"]), 403, "roles");
        await AssertRefused(Token(Guid.NewGuid(), ["admin"]), 403, "not linked");

        // API keys still work beside tokens.
        var (_, key) = await stores.ApiKeys.CreateApiKeyAsync(tenant, "beside entra", ApiKeyRole.Viewer, CancellationToken.None);
        using var keyed = _app.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync("api/v1/machines/ENTRA_M1")).StatusCode);
    }

    private async Task AssertRefused(string token, int status, string reason)
    {
        using var client = _app.Client(token);
        using var response = await client.GetAsync("api/v1/machines");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} ({reason}), got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, body, StringComparison.OrdinalIgnoreCase);
    }

    private string Token(Guid directory, string[] roles, string? audience = null, string? issuer = null, DateTime? expires = null,
        RSA? key = null, string keyId = "test-key")
    {
        var end = expires ?? DateTime.UtcNow.AddMinutes(30);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? _issuerUrl,
            Audience = audience ?? Audience,
            IssuedAt = end.AddHours(-1),
            NotBefore = end.AddHours(-1),
            Expires = end,
            Claims = new Dictionary<string, object>
            {
                ["tid"] = directory.ToString(),
                ["oid"] = "6f1c2d8e-0000-4000-8000-00000000beef",
                ["preferred_username"] = "maria@plant.example",
                ["roles"] = roles,
            },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key ?? _signingKey) { KeyId = keyId }, SecurityAlgorithms.RsaSha256),
        });
    }

    public async Task DisposeAsync()
    {
        await _issuer.DisposeAsync();
        _signingKey.Dispose();
        _strangerKey.Dispose();
    }
}
