using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Pdm.Dashboard.Tests;

/// <summary>
/// The maintenance manager's walk through the dashboard in headless Chromium, against the real function app and the
/// readings that went through ingest: sign in (a wrong key first), see the fleet, open the overheating press, see its
/// charts and its alert, acknowledge it, register a device and see its connection details once. Every step leaves a
/// screenshot in the fixture's artifact folder; any console error or failed request fails the test.
/// </summary>
[Collection(DashboardTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed partial class DashboardTests(DashboardFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_manager_signs_in_sees_the_fleet_opens_the_degrading_machine_acknowledges_its_alert_and_registers_a_device()
    {
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        var errors = new BrowserErrors(page);

        // Sign-in: the files come with the CSP and caching headers; a wrong key is refused with a clear message.
        var index = await page.GotoAsync(fixture.DashboardAddress.ToString());
        Assert.NotNull(index);
        var headers = await index.AllHeadersAsync();
        Assert.Contains("script-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("no-cache", headers["cache-control"]);
        using (errors.Expect("401"))
        {
            await page.GetByLabel("API key").FillAsync("pdm_this-key-does-not-exist");
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
            await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("unknown or revoked");
        }
        await ShotAsync(page, "01-sign-in-wrong-key");
        await page.GetByLabel("API key").FillAsync(fixture.TenantKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();

        // Fleet: the press is first (open HIGH alert) and shown by its name; the summary counts it.
        var pressRow = page.Locator($"tr[data-machine='{DashboardFixture.DegradingMachine}']");
        await Expect(pressRow).ToContainTextAsync(DashboardFixture.DegradingName);
        await Expect(page.Locator("tbody tr").First).ToHaveAttributeAsync("data-machine", DashboardFixture.DegradingMachine);
        await Expect(page.Locator("tr[data-machine='FAN_02']")).ToBeVisibleAsync();
        await Expect(pressRow).ToContainTextAsync("HIGH");
        await Expect(page.Locator(".card").First).ToContainTextAsync("2");
        Assert.Equal("1", await page.EvaluateAsync<string>("() => sessionStorage.length.toString()"));
        await ShotAsync(page, "02-fleet");

        // Live: the fleet is asked again within 3 s, and an unchanged fleet costs a 304.
        var fleetAnswers = new List<int>();
        page.Response += (_, response) =>
        {
            if (response.Url.EndsWith("/api/v1/fleet", StringComparison.Ordinal))
            {
                lock (fleetAnswers)
                {
                    fleetAnswers.Add(response.Status);
                }
            }
        };
        await page.WaitForTimeoutAsync(7000);
        lock (fleetAnswers)
        {
            Assert.True(fleetAnswers.Count >= 2, $"expected at least 2 polls of /fleet in 7 s, saw {fleetAnswers.Count}");
            Assert.Contains(304, fleetAnswers);
        }

        // Machine detail: a chart per sensor with units, the anomaly-score chart, and the overheat alert.
        await pressRow.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(DashboardFixture.DegradingName);
        await Expect(page.Locator("figure[data-sensor='temperature'] canvas")).ToBeVisibleAsync();
        await Expect(page.Locator("figure[data-sensor='vibration'] canvas")).ToBeVisibleAsync();
        await Expect(page.Locator("figure[data-sensor='anomaly-score']")).ToBeVisibleAsync();
        var alertItem = page.Locator(".alert-list li").First;
        await Expect(alertItem).ToContainTextAsync("HIGH");
        await Expect(alertItem).ToContainTextAsync("temperature");
        await ShotAsync(page, "03-machine");

        // Zoom: the 1 h range asks the series endpoint for the last hour.
        var oneHour = page.WaitForResponseAsync(r => r.Url.Contains("/series?", StringComparison.Ordinal) && SpanHours(r.Url) is > 0.9 and < 1.1);
        await page.GetByRole(AriaRole.Button, new() { Name = "1 h", Exact = true }).ClickAsync();
        Assert.True((await oneHour).Ok);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "1 h", Exact = true })).ToHaveAttributeAsync("aria-pressed", "true");

        // Acknowledge from the machine screen; the API agrees and the inbox shows it.
        await alertItem.GetByLabel("Comment").FillAsync("Checking the cooling circuit");
        await alertItem.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
        await Expect(page.Locator(".banner")).ToContainTextAsync("acknowledged");
        using (var api = fixture.Api(fixture.TenantKey))
        {
            var alerts = await DashboardFixture.ReadAsync<AlertsDto>(await api.GetAsync($"api/v1/alerts?machineId={DashboardFixture.DegradingMachine}"));
            Assert.Equal("acknowledged", Assert.Single(alerts.Alerts).Status);
        }
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts" }).ClickAsync();
        var inboxItem = page.Locator(".inbox li.alert").First;
        await Expect(inboxItem).ToContainTextAsync("acknowledged");
        await Expect(inboxItem.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" })).ToBeDisabledAsync();
        await ShotAsync(page, "04-alerts");

        // Device registration: connection details once, with a key the broker accepts; gone after leaving the screen.
        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        var deviceId = $"dash-new-{Guid.NewGuid():N}"[..18];
        await page.GetByLabel("Device id").FillAsync(deviceId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Register" }).ClickAsync();
        var details = page.Locator($".once[data-device='{deviceId}']");
        await Expect(details).ToContainTextAsync("Shown this once");
        var primaryKey = (await details.Locator("code.secret").TextContentAsync())!.Trim();
        Assert.Matches(KeyShape(), primaryKey);
        await Expect(page.Locator($"tr[data-device='{deviceId}']")).ToBeVisibleAsync();
        await ShotAsync(page, "05-device-registered");
        await page.GetByRole(AriaRole.Link, new() { Name = "Fleet" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        await Expect(page.Locator($"tr[data-device='{deviceId}']")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator(".once").CountAsync());
        Assert.DoesNotContain(primaryKey, await page.ContentAsync(), StringComparison.Ordinal);

        errors.AssertNone();
    }

    [Fact]
    public async Task On_a_phone_sized_screen_the_fleet_fits_the_width_and_a_bad_device_id_is_named()
    {
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new() { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        var errors = new BrowserErrors(page);
        await page.GotoAsync(fixture.DashboardAddress.ToString());
        await page.GetByLabel("API key").FillAsync(fixture.TenantKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator($"tr[data-machine='{DashboardFixture.DegradingMachine}']")).ToBeVisibleAsync();
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the fleet is {overflow} px wider than a phone's screen");
        await ShotAsync(page, "06-phone-fleet");

        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        using (errors.Expect("400"))
        {
            await page.GetByLabel("Device id").FillAsync("no spaces allowed");
            await page.GetByRole(AriaRole.Button, new() { Name = "Register" }).ClickAsync();
            await Expect(page.Locator("#device-id-error")).ToContainTextAsync("deviceId");
        }
        await ShotAsync(page, "07-phone-bad-device-id");
        errors.AssertNone();
    }

    [Fact]
    public async Task The_alerts_webhooks_devices_and_keys_screens_show_the_tenants_data_without_errors()
    {
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        var errors = new BrowserErrors(page);
        await page.GotoAsync(fixture.DashboardAddress + "#/alerts");
        await page.GetByLabel("API key").FillAsync(fixture.TenantKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        // Signed in on the screen the address named; the press's alert is in the inbox with its machine linked.
        await Expect(page.Locator(".inbox li.alert").First).ToContainTextAsync(DashboardFixture.DegradingMachine);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Alerts" })).ToHaveAttributeAsync("aria-current", "");

        await page.GetByRole(AriaRole.Link, new() { Name = "Webhooks" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dead letters" })).ToBeVisibleAsync();
        await Expect(page.GetByText("No subscriptions.")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        await Expect(page.Locator("tr[data-device^='dash-gw-']")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "maintenance manager" })).ToBeVisibleAsync();
        await page.GetByLabel("Name (who uses it)").FillAsync("shift lead tablet");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var created = (await page.Locator(".once code.secret").TextContentAsync())!.Trim();
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "shift lead tablet" })).ToBeVisibleAsync();
        // The new key works: the API answers it.
        using (var api = fixture.Api(created))
        {
            Assert.True((await api.GetAsync("api/v1/devices")).IsSuccessStatusCode);
        }
        await ShotAsync(page, "08-api-keys");
        errors.AssertNone();
    }

    private static double SpanHours(string url)
    {
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(url).Query);
        return (DateTimeOffset.Parse(query["to"]!, System.Globalization.CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(query["from"]!, System.Globalization.CultureInfo.InvariantCulture)).TotalHours;
    }

    private async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fixture.ArtifactDirectory, name + ".png"), FullPage = true });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [GeneratedRegex("^[A-Za-z0-9+/=_-]{16,}$")]
    private static partial Regex KeyShape();
}
