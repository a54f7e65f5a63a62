using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Pdm.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="NpgsqlDataSource"/> for the application role's connection string and the stores
    /// over it, all singletons; the container disposes the data source.
    /// </summary>
    /// <param name="configureDataSource">Optional further settings of the data source (e.g. a logger factory for Npgsql's own logs).</param>
    public static IServiceCollection AddPdmStorage(this IServiceCollection services, string appConnectionString,
        Action<NpgsqlDataSourceBuilder>? configureDataSource = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appConnectionString);
        return services.AddPdmStorage(_ => appConnectionString, configureDataSource);
    }

    /// <inheritdoc cref="AddPdmStorage(IServiceCollection, string, Action{NpgsqlDataSourceBuilder}?)"/>
    /// <param name="appConnectionString">Read when the data source is first needed, so it can come from validated options.</param>
    public static IServiceCollection AddPdmStorage(this IServiceCollection services,
        Func<IServiceProvider, string> appConnectionString, Action<NpgsqlDataSourceBuilder>? configureDataSource = null)
    {
        ArgumentNullException.ThrowIfNull(appConnectionString);
        return services.AddPdmStores(provider => BuildDataSource(appConnectionString(provider), configureDataSource));
    }

    /// <inheritdoc cref="AddPdmStorage(IServiceCollection, Func{IServiceProvider, string}, Action{NpgsqlDataSourceBuilder}?)"/>
    /// <param name="configureDataSource">Further settings of the data source that need the container (e.g. a token password provider).</param>
    public static IServiceCollection AddPdmStorage(this IServiceCollection services,
        Func<IServiceProvider, string> appConnectionString, Action<IServiceProvider, NpgsqlDataSourceBuilder> configureDataSource)
    {
        ArgumentNullException.ThrowIfNull(appConnectionString);
        ArgumentNullException.ThrowIfNull(configureDataSource);
        return services.AddPdmStores(provider =>
            BuildDataSource(appConnectionString(provider), builder => configureDataSource(provider, builder)));
    }

    private static IServiceCollection AddPdmStores(this IServiceCollection services, Func<IServiceProvider, NpgsqlDataSource> dataSource)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(dataSource);
        services.AddSingleton<DatabaseHealth>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<MachineStore>();
        services.AddSingleton<ReadingStore>();
        services.AddSingleton<RejectStore>();
        services.AddSingleton<ScoreStore>();
        services.AddSingleton<PredictionStore>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<SubscriptionStore>();
        services.AddSingleton<WebhookDeliveryStore>();
        services.AddSingleton<RollupStore>();
        services.AddSingleton<RetentionStore>();
        services.AddSingleton<DashboardStore>();
        return services;
    }

    private static NpgsqlDataSource BuildDataSource(string appConnectionString,
        Action<NpgsqlDataSourceBuilder>? configureDataSource)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appConnectionString);
        var builder = new NpgsqlDataSourceBuilder(appConnectionString);
        // All state we set is transaction-local (set_config(..., true)), so the reset on return to the pool would
        // only throw away the ingest staging table, which is then re-created on every write.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        configureDataSource?.Invoke(builder);
        return builder.Build();
    }
}
