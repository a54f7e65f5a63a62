using System.Text.Json;

namespace Pdm.Functions.Tests;

/// <summary>
/// <c>GET /api/dashboard/sign-in.json</c>, which tells the dashboard whether to offer Entra ID sign-in: nothing where
/// <c>Pdm__Entra__ClientId</c> is unset (keys only), the client id, authority and scopes where it is set, and a start
/// that fails naming the setting when the Entra settings cannot work together. The browser flow itself is tested in
/// tests/Pdm.Dashboard.Tests (EntraSignInTests).
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DashboardSignInTests(ApiFixture fixture)
{
    private const string Directory = "0d3f5c1e-7a52-4e0b-9f36-6a1f2b9c4d10";
    private const string ClientId = "3f9b2a44-1c7e-4d0a-8b65-2e4d9c0f7a31";

    [Fact]
    public async Task Without_a_client_id_the_page_offers_keys_only()
    {
        using var client = fixture.Factory.Client();
        using var response = await client.GetAsync("api/dashboard/sign-in.json");
        var body = await ApiFixture.ReadAsync<JsonElement>(response);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("entra").ValueKind);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task With_a_client_id_the_page_gets_the_authority_and_the_API_scope()
    {
        var app = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__Entra__Authority"] = $"https://login.microsoftonline.com/{Directory}/v2.0",
            ["Pdm__Entra__Audience"] = "api://pdm-sign-in-tests",
            ["Pdm__Entra__ClientId"] = ClientId,
        });
        using var client = app.Client();
        var entra = (await ApiFixture.ReadAsync<JsonElement>(await client.GetAsync("api/dashboard/sign-in.json"))).GetProperty("entra");
        Assert.Equal(ClientId, entra.GetProperty("clientId").GetString());
        Assert.Equal($"https://login.microsoftonline.com/{Directory}/v2.0", entra.GetProperty("authority").GetString());
        // Without Pdm__Entra__Scope: the API's static permissions, so the tokens carry the audience the API accepts.
        Assert.Equal(["api://pdm-sign-in-tests/.default"], entra.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("AAD", entra.GetProperty("protocolMode").GetString());
        Assert.Equal(["login.microsoftonline.com"], entra.GetProperty("knownAuthorities").EnumerateArray().Select(s => s.GetString()));
    }

    [Theory]
    [InlineData("http://login.example/pdm/v2.0", "api://pdm", "Pdm__Entra__Authority must be an absolute https URL")]
    [InlineData("", "api://pdm", "Pdm__Entra__ClientId is set but Pdm__Entra__Authority is not")]
    [InlineData("https://login.example/pdm/v2.0", "", "neither Pdm__Entra__Scope nor Pdm__Entra__Audience")]
    public void A_client_id_with_settings_that_cannot_sign_in_stops_the_start(string authority, string audience, string reason)
    {
        var app = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__Entra__Authority"] = authority,
            ["Pdm__Entra__Audience"] = audience,
            ["Pdm__Entra__ClientId"] = ClientId,
        });
        var failure = Record.Exception(() => app.Client().Dispose());
        Assert.NotNull(failure);
        Assert.Contains(reason, failure.ToString(), StringComparison.Ordinal);
    }
}
