using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.Storage;

/// <summary>
/// Every store over one data source, for callers without a container (CLI commands, tests): what
/// <see cref="StorageServiceCollectionExtensions.AddPdmStorage(IServiceCollection, string, Action{Npgsql.NpgsqlDataSourceBuilder}?)"/>
/// registers, resolved from a provider of its own that owns the data source. Dispose it to close the connections.
/// </summary>
public sealed class PdmStores : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private PdmStores(ServiceProvider provider)
    {
        _provider = provider;
        Health = provider.GetRequiredService<DatabaseHealth>();
        Tenants = provider.GetRequiredService<TenantStore>();
        ApiKeys = provider.GetRequiredService<ApiKeyStore>();
        Devices = provider.GetRequiredService<DeviceStore>();
        Machines = provider.GetRequiredService<MachineStore>();
        Readings = provider.GetRequiredService<ReadingStore>();
        Rejects = provider.GetRequiredService<RejectStore>();
        Scores = provider.GetRequiredService<ScoreStore>();
        Predictions = provider.GetRequiredService<PredictionStore>();
        Models = provider.GetRequiredService<ModelStore>();
        Alerts = provider.GetRequiredService<AlertStore>();
        Subscriptions = provider.GetRequiredService<SubscriptionStore>();
        Deliveries = provider.GetRequiredService<WebhookDeliveryStore>();
        Rollups = provider.GetRequiredService<RollupStore>();
        Retention = provider.GetRequiredService<RetentionStore>();
        Dashboard = provider.GetRequiredService<DashboardStore>();
    }

    /// <param name="connectionString">
    /// The application role's (pdm_app) connection string, or the owner's where the caller registers models or
    /// needs to bypass row-level security (benchmarks).
    /// </param>
    /// <param name="loggerFactory">Receives the stores' logs and Npgsql's own; none when null.</param>
    public static PdmStores Create(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory ?? NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddPdmStorage(connectionString, loggerFactory is null ? null : builder => builder.UseLoggerFactory(loggerFactory));
        return new PdmStores(services.BuildServiceProvider());
    }

    public DatabaseHealth Health { get; }
    public TenantStore Tenants { get; }
    public ApiKeyStore ApiKeys { get; }
    public DeviceStore Devices { get; }
    public MachineStore Machines { get; }
    public ReadingStore Readings { get; }
    public RejectStore Rejects { get; }
    public ScoreStore Scores { get; }
    public PredictionStore Predictions { get; }
    public ModelStore Models { get; }
    public AlertStore Alerts { get; }
    public SubscriptionStore Subscriptions { get; }
    public RollupStore Rollups { get; }
    public RetentionStore Retention { get; }
    public DashboardStore Dashboard { get; }
    public WebhookDeliveryStore Deliveries { get; }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
