using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pdm.AzureStorage;
using Pdm.Notifications.Attempts;
using Pdm.Notifications.Delivery;
using Pdm.Notifications.Email;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Notifications;

public static class NotificationsServiceCollectionExtensions
{
    /// <summary>The e-mail channel: <c>Pdm:Email</c> options checked at start (each problem named), the sender as a singleton.</summary>
    public static IServiceCollection AddPdmEmail(this IServiceCollection services)
    {
        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmailOptions>, EmailOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new EmailAlertSender(sp.GetRequiredService<IOptions<EmailOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// The e-mail channel when <c>Pdm:Email:Host</c> is set (then checked at start like <see cref="AddPdmEmail"/>); without
    /// it no sender is registered and e-mail subscriptions' deliveries fail with that reason (and are retried).
    /// </summary>
    public static IServiceCollection AddPdmOptionalEmail(this IServiceCollection services)
    {
        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section)
            .Validate(options => string.IsNullOrWhiteSpace(options.Host) || new EmailOptionsValidator().Validate(null, options).Succeeded,
                "Pdm:Email is set but invalid (Pdm:Email:Host, Pdm:Email:From and the rest are checked: see docs/settings.md).")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new OptionalEmailSender(sp.GetRequiredService<IOptions<EmailOptions>>().Value is { Host: { Length: > 0 } } options
            ? new EmailAlertSender(options, sp.GetRequiredService<TimeProvider>())
            : null));
        return services;
    }

    /// <summary>
    /// The outbox publisher and the ordered delivery of events to subscriptions (<c>Pdm:Webhooks</c> dispatch options
    /// checked at start). Needs Pdm.Storage's stores, <see cref="WebhooksServiceCollectionExtensions.AddPdmWebhooks"/>,
    /// the attempt log and <see cref="StorageClients"/>; the e-mail channel is used when registered.
    /// </summary>
    public static IServiceCollection AddPdmWebhookDispatch(this IServiceCollection services)
    {
        services.AddOptions<WebhookDispatchOptions>().BindConfiguration(WebhookDispatchOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookDispatchOptions>, WebhookDispatchOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new DeliveryWorkSender(
            sp.GetRequiredService<StorageClients>().Queues.GetQueueClient(sp.GetRequiredService<IOptions<WebhookDispatchOptions>>().Value.Queue)));
        services.TryAddSingleton<AlertPublisher>();
        services.TryAddSingleton(sp =>
        {
            var email = sp.GetService<OptionalEmailSender>()?.Sender ?? sp.GetService<EmailAlertSender>();
            var attemptTimeout = sp.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value.TotalTimeout;
            if (email is not null && sp.GetRequiredService<IOptions<EmailOptions>>().Value.TotalTimeout > attemptTimeout)
            {
                attemptTimeout = sp.GetRequiredService<IOptions<EmailOptions>>().Value.TotalTimeout;
            }
            return new WebhookDispatcher(sp.GetRequiredService<WebhookDeliveryStore>(), sp.GetRequiredService<SubscriptionStore>(),
                sp.GetRequiredService<DeliveryWorkSender>(), sp.GetRequiredService<WebhookDeliveryClient>(), sp.GetRequiredService<IWebhookSecretProtector>(),
                sp.GetRequiredService<DeliveryAttemptLog>(), email, sp.GetRequiredService<IOptions<WebhookDispatchOptions>>(), attemptTimeout,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WebhookDispatcher>>());
        });
        return services;
    }

    /// <summary>The attempt log on the registered <see cref="StorageClients"/>' Table service (table <paramref name="tableName"/>).</summary>
    public static IServiceCollection AddPdmDeliveryAttemptLog(this IServiceCollection services, string tableName = DeliveryAttemptLog.DefaultTableName)
    {
        services.TryAddSingleton(sp => new DeliveryAttemptLog(sp.GetRequiredService<StorageClients>().Tables.GetTableClient(tableName)));
        return services;
    }
}

/// <summary>The e-mail sender when the channel is configured, else null (a container cannot hold a null service).</summary>
public sealed record OptionalEmailSender(EmailAlertSender? Sender);
