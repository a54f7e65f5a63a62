using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pdm.AzureStorage;
using Pdm.Notifications.Attempts;
using Pdm.Notifications.Email;

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

    /// <summary>The attempt log on the registered <see cref="StorageClients"/>' Table service (table <paramref name="tableName"/>).</summary>
    public static IServiceCollection AddPdmDeliveryAttemptLog(this IServiceCollection services, string tableName = DeliveryAttemptLog.DefaultTableName)
    {
        services.TryAddSingleton(sp => new DeliveryAttemptLog(sp.GetRequiredService<StorageClients>().Tables.GetTableClient(tableName)));
        return services;
    }
}
