using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pdm.Notifications.Delivery;
using Pdm.Webhooks;

namespace Pdm.Notifications.Tests.Delivery;

public sealed class WebhookDispatchOptionsTests
{
    [Fact]
    public void Without_retry_delays_the_production_schedule_applies()
    {
        Assert.Same(WebhookRetrySchedule.Default, new WebhookDispatchOptions().RetrySchedule());
        Assert.True(WebhookRetrySchedule.Default.MinimumSpan > TimeSpan.FromHours(24));
    }

    [Fact]
    public void A_compressed_schedule_is_read_from_the_setting()
    {
        var schedule = Bind(new() { ["Pdm:Webhooks:RetryDelays"] = "00:00:01, 00:00:02,00:00:04", ["Pdm:Webhooks:RetryJitter"] = "0" }).RetrySchedule();

        Assert.Equal(4, schedule.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), schedule.NominalDelayBeforeAttempt(3));
    }

    [Theory]
    [InlineData("Pdm:Webhooks:RetryDelays", "00:00:01,soon", "Pdm:Webhooks:RetryDelays: 'soon' is not a TimeSpan")]
    [InlineData("Pdm:Webhooks:RetryDelays", "8.00:00:00", "Pdm:Webhooks:RetryDelays:")]
    [InlineData("Pdm:Webhooks:Queue", "Webhook_Deliveries", "Pdm:Webhooks:Queue 'Webhook_Deliveries' is not a storage queue name")]
    [InlineData("Pdm:Webhooks:DeliveriesPerTurn", "0", "Pdm:Webhooks:DeliveriesPerTurn 0 must be 1 to 10000")]
    [InlineData("Pdm:Webhooks:OverdueAfter", "00:00:00", "Pdm:Webhooks:OverdueAfter 00:00:00 must be")]
    public void A_bad_setting_is_refused_at_start_naming_it(string key, string value, string expected)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build());
        services.AddOptions<WebhookDispatchOptions>().BindConfiguration(WebhookDispatchOptions.Section);
        services.AddSingleton<IValidateOptions<WebhookDispatchOptions>, WebhookDispatchOptionsValidator>();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<WebhookDispatchOptions>>().Value);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_event_ids_are_unique_and_in_the_notifications_range() =>
        LogEventIds.AssertUniqueWithin(typeof(WebhookDispatcher).Assembly, 10200, 10299);

    private static WebhookDispatchOptions Bind(Dictionary<string, string?> settings)
    {
        var options = new WebhookDispatchOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(WebhookDispatchOptions.Section).Bind(options);
        return options;
    }
}
