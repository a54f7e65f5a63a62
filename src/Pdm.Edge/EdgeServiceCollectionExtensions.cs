using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pdm.Edge.Cloud;
using Pdm.Edge.Sources;

namespace Pdm.Edge;

public static class EdgeServiceCollectionExtensions
{
    /// <summary>
    /// The edge runtime as a hosted service: <see cref="EdgeOptions"/> from <c>Edge</c> and <see cref="CloudSettings"/>
    /// from <c>Cloud</c>, both validated when the host starts; the HTTP sources' client from <see cref="IHttpClientFactory"/>;
    /// logging and the clock from the container.
    /// </summary>
    public static IServiceCollection AddPdmEdge(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<EdgeOptions>().BindConfiguration(EdgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.AddOptions<CloudSettings>().BindConfiguration(CloudSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CloudSettings>, CloudSettingsValidator>();
        // Each poll has its own timeout from the configuration document and its own Polly retry (HttpSource), which also
        // drives the source's status; the client itself adds neither.
        services.AddHttpClient(HttpSource.HttpClientName);
        services.AddSingleton<EdgeRuntimeService>();
        services.AddHostedService(sp => sp.GetRequiredService<EdgeRuntimeService>());
        return services;
    }
}
