using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pdm.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Registers <see cref="PdmDatabase"/> as a singleton over the application role's connection string.</summary>
    public static IServiceCollection AddPdmStorage(this IServiceCollection services, string appConnectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(appConnectionString);
        return services.AddSingleton(provider =>
            PdmDatabase.Create(appConnectionString, provider.GetService<ILoggerFactory>()));
    }
}
