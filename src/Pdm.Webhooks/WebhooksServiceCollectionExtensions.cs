using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Pdm.Webhooks;

public static class WebhooksServiceCollectionExtensions
{
    /// <summary>
    /// Registers the delivery client (validated <c>Pdm:Webhooks</c> options) and the AES-GCM secret protector
    /// (<c>Pdm:WebhookSecretKey</c>, <c>Pdm:WebhookSecretPreviousKeys</c>); both fail at startup when misconfigured.
    /// </summary>
    public static IServiceCollection AddPdmWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookDeliveryOptions>().BindConfiguration(WebhookDeliveryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebhookSecretKeyOptions>().BindConfiguration(WebhookSecretKeyOptions.Section).ValidateDataAnnotations()
            // A present but malformed key throws its own clear message; a missing one is [Required]'s.
            .Validate(options => string.IsNullOrWhiteSpace(options.WebhookSecretKey) || new AesGcmWebhookSecretProtector(options) is not null)
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IWebhookHostResolver, DnsWebhookHostResolver>();
        services.TryAddSingleton(sp => new WebhookDeliveryClient(
            sp.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IWebhookHostResolver>()));
        services.TryAddSingleton<IWebhookSecretProtector>(sp => new AesGcmWebhookSecretProtector(sp.GetRequiredService<IOptions<WebhookSecretKeyOptions>>().Value));
        return services;
    }
}
