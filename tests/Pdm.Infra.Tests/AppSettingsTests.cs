using System.Text.Json.Nodes;

namespace Pdm.Infra.Tests;

/// <summary>Every setting the handler needs is set by the Bicep; the ones left unset are listed with a reason.</summary>
public sealed class AppSettingsTests
{
    private static readonly Dictionary<string, string> SetByBicep = FunctionAppSettings();

    private static readonly Dictionary<string, string> LeftUnset = JsonNode.Parse(
            File.ReadAllText(Path.Combine(Bicep.InfraDirectory, "settings-left-unset.json")))!.AsObject()
        .Where(p => p.Key != "//").ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);

    [Fact]
    public void The_settings_are_collected_from_the_code()
    {
        var names = HandlerSettings.All.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        // One of each kind: an options property, a function.json expression, a connection, a direct read.
        Assert.Contains("Pdm__Database", names);
        Assert.Contains("Pdm__WebhookSecretKey", names);
        Assert.Contains("IOTHUB_EH_NAME", names);
        Assert.Contains(HandlerSettings.All, s => s is { Name: "IotHubEvents", Connection: true });
        Assert.Contains("WEBHOOK_DELIVERY_QUEUE", names);
    }

    [Fact]
    public void Every_setting_without_a_default_is_set_by_the_bicep_or_left_unset_with_a_reason()
    {
        var missing = HandlerSettings.All
            .Where(s => !s.HasDefault && !IsSet(s) && !LeftUnset.ContainsKey(s.Name))
            .Select(s => $"{s.Name} ({s.Source})")
            .Distinct()
            .ToList();

        Assert.True(missing.Count == 0,
            $"Settings the handler reads that infra/modules/functionapp.bicep does not set: {string.Join(", ", missing)}. "
            + "Set them there, or list them with the reason in infra/settings-left-unset.json.");
    }

    [Fact]
    public void Every_pdm_setting_in_the_bicep_is_one_the_handler_reads()
    {
        var read = HandlerSettings.All.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        Problems.None(SetByBicep.Keys.Where(name => name.StartsWith("Pdm__", StringComparison.Ordinal) && !read.Contains(name)),
            "set by the Bicep but read by no options class (a typo?)");
    }

    [Fact]
    public void Settings_left_unset_are_read_by_the_handler_and_not_set()
    {
        var read = HandlerSettings.All.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        Problems.None(LeftUnset.Keys.Where(name => !read.Contains(name)), "in settings-left-unset.json but no longer read by the handler");
        Problems.None(LeftUnset.Keys.Where(SetByBicep.ContainsKey), "in settings-left-unset.json and set by the Bicep");
    }

    [Fact]
    public void Test_only_faults_and_local_settings_are_not_deployed()
    {
        Problems.None(SetByBicep.Keys.Where(name => name.StartsWith("Pdm__Faults__", StringComparison.Ordinal)), "test-only faults set by the Bicep");
        // Flex Consumption configures these in functionAppConfig; setting them fails the deployment.
        Problems.None(SetByBicep.Keys.Intersect(["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "SCM_DO_BUILD_DURING_DEPLOYMENT"]),
            "settings Flex Consumption does not allow");
    }

    [Fact]
    public void The_function_app_runs_the_custom_handler_on_flex_consumption()
    {
        var app = Bicep.Resources(Bicep.MainTemplate).Single(r => Bicep.Type(r) == "Microsoft.Web/sites");
        var config = app["properties"]!["functionAppConfig"]!;

        Assert.Equal("custom", config["runtime"]!["name"]!.GetValue<string>());
        Assert.Equal("functionapp,linux", app["kind"]!.GetValue<string>());
        Assert.Equal("/api/health", app["properties"]!["siteConfig"]!["healthCheckPath"]!.GetValue<string>());
        var plan = Bicep.Resources(Bicep.MainTemplate).Single(r => Bicep.Type(r) == "Microsoft.Web/serverfarms");
        Assert.Equal("FlexConsumption", plan["sku"]!["tier"]!.GetValue<string>());
    }

    private static bool IsSet(HandlerSetting setting) =>
        SetByBicep.ContainsKey(setting.Name)
        || (setting.Connection && SetByBicep.Keys.Any(name => name.StartsWith($"{setting.Name}__", StringComparison.Ordinal)));

    /// <summary>The function app's app settings in the compiled template: literal names, values as expressions.</summary>
    private static Dictionary<string, string> FunctionAppSettings()
    {
        var app = Bicep.Resources(Bicep.MainTemplate).Single(r => Bicep.Type(r) == "Microsoft.Web/sites");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in app["properties"]!["siteConfig"]!["appSettings"]!.AsArray())
        {
            var name = setting!["name"]!.GetValue<string>();
            Assert.False(name.StartsWith('['), $"App setting names are literal so they can be checked: {name}");
            Assert.True(settings.TryAdd(name, setting["value"]!.ToJsonString()), $"{name} is set twice");
        }
        return settings;
    }
}
