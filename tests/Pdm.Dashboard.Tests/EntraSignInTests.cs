using System.Net.Http.Json;
using Microsoft.Playwright;
using Pdm.Storage;
using Pdm.Testing;

namespace Pdm.Dashboard.Tests;

/// <summary>
/// Sign-in with Microsoft Entra ID in headless Chromium, against the fixture's <see cref="TestOpenIdProvider"/>: the
/// authorization code flow with PKCE through msal-browser (a popup on a desktop, a redirect on a phone), the fleet of
/// the tenant linked to the user's directory, API calls with the access token, the role the API maps from it (a
/// viewer cannot acknowledge), silent renewal with the refresh token, a 401 and a refused directory sent back to the
/// sign-in screen with the reason, and sign-out at the provider. Console errors and failed requests fail the tests.
/// </summary>
[Collection(DashboardTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EntraSignInTests(DashboardFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_viewer_signs_in_with_Microsoft_in_a_popup_sees_the_fleet_cannot_acknowledge_and_signs_out()
    {
        await using var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var alert = await AlertSeeding.OpenAsync(stores, fixture.TenantId, DashboardFixture.SteadyMachine, "entra-viewer-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await ViewerWalkAsync(alert.Id);
        }
        finally
        {
            // The other tests expect the press's alert first in the inbox and the fleet: this one is resolved again.
            using var api = fixture.Api(fixture.TenantKey);
            using var resolved = await api.PostAsJsonAsync($"api/v1/alerts/{alert.Id}/resolve", new { comment = "seeded by the Entra test" });
            Assert.True(resolved.IsSuccessStatusCode, $"resolving the seeded alert: {(int)resolved.StatusCode}");
        }
    }

    private async Task ViewerWalkAsync(Guid alertId)
    {
        var provider = fixture.OpenIdProvider;
        await using var context = await NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await NewPageAsync(context);
        var errors = new BrowserErrors(page);
        var user = new TestUser($"vera.{Guid.NewGuid():N}"[..13] + "@plant.example", fixture.EntraDirectory, ["viewer"]);
        provider.NextUser = user;
        var (codes, refusals) = (provider.CodesRedeemed, provider.VerifierRefusals);

        var index = await page.GotoAsync(fixture.DashboardAddress.ToString());
        // The page may talk to the authority (metadata, tokens) and to nothing else beyond its own origin.
        var policy = (await index!.AllHeadersAsync())["content-security-policy"];
        Assert.Contains($"connect-src 'self' {new Uri(provider.Authority).GetLeftPart(UriPartial.Authority)};", policy, StringComparison.Ordinal);
        // Both ways in: the key form is still there beside the Microsoft button.
        await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        var popup = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync());

        // Signed in: the header names the user and the role from the token; the linked tenant's fleet is shown.
        await Expect(page.Locator("header .user")).ToHaveTextAsync($"{user.Name} · viewer");
        Assert.True(popup.IsClosed, "the sign-in popup stayed open");
        await Expect(page.Locator($"tr[data-machine='{DashboardFixture.DegradingMachine}']")).ToContainTextAsync(DashboardFixture.DegradingName);
        Assert.Equal(codes + 1, provider.CodesRedeemed);
        Assert.Equal(refusals, provider.VerifierRefusals);
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('pdm.apiKey')"));
        var fleetCall = await page.WaitForRequestAsync(r => r.Url.EndsWith("/api/v1/fleet", StringComparison.Ordinal));
        var bearer = (await fleetCall.AllHeadersAsync())["authorization"];
        Assert.StartsWith("Bearer ey", bearer, StringComparison.Ordinal);
        Assert.Equal(2, bearer.Count(c => c == '.'));
        await ShotAsync(page, "20-entra-viewer-fleet");

        // A viewer cannot acknowledge: the API refuses and the screen says why; the alert stays open.
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts" }).ClickAsync();
        var item = page.Locator($"li[data-alert='{alertId}']");
        using (errors.Expect("403"))
        {
            await item.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
            await Expect(page.Locator(".banner")).ToContainTextAsync("needs an operator or admin");
        }
        using (var api = fixture.Api(fixture.TenantKey))
        {
            var stored = await DashboardFixture.ReadAsync<AlertDetailDto>(await api.GetAsync($"api/v1/alerts/{alertId}"));
            Assert.Equal("open", stored.Alert.Status);
        }
        await ShotAsync(page, "21-entra-viewer-refused");

        // Sign-out: at the provider too, back to the sign-in screen, no tokens left in the tab.
        var signOuts = provider.SignOuts;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" })).ToBeVisibleAsync();
        Assert.Equal(signOuts + 1, provider.SignOuts);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => Object.keys(sessionStorage).filter(k => k.includes('accesstoken') || k.includes('refreshtoken')).length"));
        errors.AssertNone();
    }

    [Fact]
    public async Task On_a_phone_an_operator_signs_in_by_redirect_tokens_renew_silently_and_a_refused_token_or_directory_returns_to_sign_in()
    {
        var provider = fixture.OpenIdProvider;
        await using var context = await NewContextAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
        var page = await NewPageAsync(context);
        var errors = new BrowserErrors(page);
        await page.GotoAsync(fixture.DashboardAddress + "#/alerts");

        // A directory that is not linked to any tenant: the API's 403 reason is on the sign-in screen.
        provider.NextUser = new TestUser("stranger@elsewhere.example", Guid.NewGuid(), ["admin"]);
        using (errors.Expect("403"))
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync();
            await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("is not linked to a PDM tenant");
        }
        await ShotAsync(page, "22-entra-phone-unlinked");

        // An operator of the linked directory, by redirect; every token is close to its end, so each call renews it.
        var operatorUser = new TestUser($"otto.{Guid.NewGuid():N}"[..13] + "@plant.example", fixture.EntraDirectory, ["viewer", "operator"]);
        provider.NextUser = operatorUser;
        provider.AccessTokenLifetime = TimeSpan.FromMinutes(4);
        try
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync();
            await Expect(page.Locator("header .user")).ToHaveTextAsync($"{operatorUser.Name} · operator");
            // Back on the screen the address named before the round trip.
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Alerts" })).ToHaveAttributeAsync("aria-current", "");
            await Expect(page.Locator(".inbox li.alert").First).ToBeVisibleAsync();
            var refreshes = provider.Refreshes;
            await page.WaitForTimeoutAsync(4000);
            Assert.True(provider.Refreshes > refreshes, "the access tokens were not renewed with the refresh token");
            await Expect(page.Locator("header .user")).ToHaveTextAsync($"{operatorUser.Name} · operator");
            await ShotAsync(page, "23-entra-phone-operator");

            // The next renewed token is signed with a key the provider does not publish: the API's 401 signs the user out.
            using (errors.Expect("401"))
            {
                provider.SignWithStrangerKey = true;
                await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("signed by a key the issuer does not publish");
            }
        }
        finally
        {
            provider.SignWithStrangerKey = false;
            provider.AccessTokenLifetime = TimeSpan.FromHours(1);
        }
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" })).ToBeVisibleAsync();
        await ShotAsync(page, "24-entra-phone-signed-out");
        errors.AssertNone();
    }

    /// <summary>The provider's certificate is its own: this context accepts it (the function app trusts it through SSL_CERT_FILE).</summary>
    private Task<IBrowserContext> NewContextAsync(BrowserNewContextOptions options)
    {
        options.IgnoreHTTPSErrors = true;
        return fixture.Browser.NewContextAsync(options);
    }

    private static async Task<IPage> NewPageAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        return page;
    }

    private async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fixture.ArtifactDirectory, name + ".png"), FullPage = true });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}

public sealed record AlertDetailDto(AlertDto Alert);
