using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pdm.Webhooks.Tests;

public sealed class WebhooksServiceCollectionExtensionsTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddPdmWebhooks();
        return builder.Build();
    }

    [Fact]
    public async Task Settings_bind_and_the_services_work_together()
    {
        using var host = Build(new()
        {
            ["Pdm:WebhookSecretKey"] = AesGcmWebhookSecretProtector.GenerateKey(),
            ["Pdm:Webhooks:AllowHttp"] = "true",
            ["Pdm:Webhooks:TotalTimeout"] = "00:00:07",
        });
        await host.StartAsync();

        Assert.True(host.Services.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value.AllowHttp);
        Assert.Equal(TimeSpan.FromSeconds(7), host.Services.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value.TotalTimeout);
        var protector = host.Services.GetRequiredService<IWebhookSecretProtector>();
        var secret = WebhookSecret.Generate();
        Assert.Equal(secret.Encoded, protector.Unprotect(protector.Protect(secret, "sub_1"), "sub_1").Encoded);
        Assert.Same(host.Services.GetRequiredService<WebhookDeliveryClient>(), host.Services.GetRequiredService<WebhookDeliveryClient>());
        await host.StopAsync();
    }

    [Fact]
    public async Task A_missing_key_stops_the_host_at_start_naming_the_setting()
    {
        using var host = Build([]);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Pdm:WebhookSecretKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_key_stops_the_host_at_start_with_the_reason()
    {
        using var host = Build(new() { ["Pdm:WebhookSecretKey"] = "c2hvcnQ=" });

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("Pdm:WebhookSecretKey holds 5 bytes", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_range_timeouts_stop_the_host_at_start()
    {
        using var host = Build(new()
        {
            ["Pdm:WebhookSecretKey"] = AesGcmWebhookSecretProtector.GenerateKey(),
            ["Pdm:Webhooks:TotalTimeout"] = "01:00:00",
        });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("TotalTimeout", ex.Message, StringComparison.Ordinal);
    }
}
