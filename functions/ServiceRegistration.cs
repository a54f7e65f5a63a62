using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Analytics.Anomaly;
using Pdm.AzureStorage;
using Pdm.Functions.Api;
using Pdm.Functions.Ingest;
using Pdm.Functions.Retention;
using Pdm.Functions.Rollup;
using Pdm.Ingest;
using Pdm.Ingest.Scoring;
using Pdm.IotHub;
using Pdm.Notifications;
using Pdm.Notifications.Delivery;
using Pdm.Prediction;
using Pdm.Storage;
using Pdm.Webhooks;

namespace Pdm.Functions;

internal static class ServiceRegistration
{
    /// <summary>What the functions run on: the database, the dead-letter container, the device registry.</summary>
    public static IServiceCollection AddPdmFunctions(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddPdmStorage(sp => sp.GetRequiredService<IOptions<PdmOptions>>().Value.Database,
            (sp, dataSource) => DatabaseTokenAuthentication.Configure(dataSource, sp.GetRequiredService<IOptions<PdmOptions>>().Value));
        // AzureWebJobsStorage as the host reads it: a connection string locally, the identity form in Azure.
        services.AddSingleton(sp => StorageClients.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        services.AddOptions<FaultSettings>().BindConfiguration(FaultSettings.Section);
        services.AddOptions<IngestSettings>().BindConfiguration(IngestSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IDeadLetterStore>(sp => new BlobDeadLetterStore(
            Container(sp, sp.GetRequiredService<IOptions<PdmOptions>>().Value.DeadLetterContainer),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IRejectedPayloadStore>(sp => new BlobRejectedPayloadStore(
            Container(sp, sp.GetRequiredService<IOptions<IngestSettings>>().Value.RejectContainer)));
        services.AddSingleton(sp => new IngestOptions { MaxBodyBytes = sp.GetRequiredService<IOptions<IngestSettings>>().Value.MaxBodyBytes });
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<ModelStore>(),
            Container(sp, sp.GetRequiredService<IOptions<PdmOptions>>().Value.ModelContainer)));
        services.AddSingleton(sp => new ProductionModelCache(sp.GetRequiredService<ModelRegistry>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<PdmOptions>>().Value.ModelCheckInterval,
            sp.GetRequiredService<ILogger<ProductionModelCache>>()));
        services.AddSingleton(sp => ModelKinds.AnomalyModels(sp.GetRequiredService<ProductionModelCache>(),
            sp.GetRequiredService<ILogger<ProductionModelSet<AnomalyModel>>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PdmOptions>>().Value;
            return new AnomalyWarmupOptions { Samples = options.AnomalyWarmupSamples, MinimumSpan = options.AnomalyWarmupSpan };
        });
        services.AddSingleton<AnomalyScoring>();
        services.AddOptions<AlertSettings>().BindConfiguration(AlertSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new AlertEvaluations(sp.GetRequiredService<IOptions<AlertSettings>>().Value.ToPolicy(),
            sp.GetRequiredService<ILogger<AlertEvaluations>>()));
        services.AddSingleton<AlertTicker>();
        services.AddSingleton<IngestProcessor>();
        services.AddOptions<PredictOptions>().BindConfiguration(PredictOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<FleetPredictor>();
        services.AddSingleton(sp => DeviceRegistryFromSettings(sp.GetRequiredService<IOptions<PdmOptions>>().Value));
        services.AddSingleton<IDeviceIdentityRegistry>(sp => sp.GetRequiredService<IotHubRegistryClient>());
        services.AddSingleton<IEdgeDeviceRegistry>(sp => sp.GetRequiredService<IotHubRegistryClient>());
        services.AddOptions<EdgeDeploymentOptions>().BindConfiguration(EdgeDeploymentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // /api/health touches what the app uses: the dead-letter container, the webhook delivery queue, the attempt log table.
        services.AddSingleton(sp => new StorageHealth(sp.GetRequiredService<StorageClients>(),
            sp.GetRequiredService<IOptions<PdmOptions>>().Value.DeadLetterContainer,
            sp.GetRequiredService<IOptions<WebhookDispatchOptions>>().Value.Queue, Pdm.Notifications.Attempts.DeliveryAttemptLog.DefaultTableName));
        services.AddPdmWebhooks();
        services.AddAlertsApi();
        services.AddPdmAlertDelivery();
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RollupOptions>().BindConfiguration(RollupOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }

    /// <summary>
    /// What the alert and webhook routes need besides Pdm.Webhooks: the lifecycle operators act through and the
    /// subscription settings.
    /// </summary>
    private static IServiceCollection AddAlertsApi(this IServiceCollection services)
    {
        // The same policy the evaluations use (AlertSettings, Pdm:Alerts).
        services.TryAddSingleton(sp => new AlertLifecycle(sp.GetRequiredService<IOptions<AlertSettings>>().Value.ToPolicy()));
        services.AddOptions<WebhookSubscriptionOptions>().BindConfiguration(WebhookSubscriptionOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Alert delivery: the outbox publisher (PublishAlerts, and Ingest/Predict right after their commit), DeliverWebhook's
    /// ordered per-subscription turns, the attempt log, and the e-mail channel when Pdm__Email__Host is set. The work
    /// queue is the one DeliverWebhook/function.json triggers on (WEBHOOK_DELIVERY_QUEUE).
    /// </summary>
    private static IServiceCollection AddPdmAlertDelivery(this IServiceCollection services)
    {
        services.AddPdmOptionalEmail();
        services.AddPdmDeliveryAttemptLog();
        services.AddPdmWebhookDispatch();
        services.AddOptions<WebhookDispatchOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            if (configuration["WEBHOOK_DELIVERY_QUEUE"] is { Length: > 0 } queue)
            {
                options.Queue = queue;
            }
        });
        return services;
    }

    private static BlobContainerClient Container(IServiceProvider services, string name) =>
        services.GetRequiredService<StorageClients>().Blobs.GetBlobContainerClient(name);

    /// <summary>
    /// IoT Hub's registry REST API: with the app's identity, or with a registryReadWrite policy connection string. Locally
    /// the connection string names the local stack's stand-in and the endpoint points at it (plain http on loopback).
    /// </summary>
    private static IotHubRegistryClient DeviceRegistryFromSettings(PdmOptions options) =>
        string.IsNullOrEmpty(options.IotHubRegistryConnectionString)
            ? new IotHubRegistryClient(
                options.IotHubRegistryEndpoint ?? new Uri($"https://{Required(options.IotHubHostName, nameof(options.IotHubHostName))}"),
                new Azure.Identity.DefaultAzureCredential())
            : IotHubRegistryClient.FromConnectionString(options.IotHubRegistryConnectionString, options.IotHubRegistryEndpoint);

    private static string Required(string? value, string name) =>
        string.IsNullOrEmpty(value)
            ? throw new OptionsValidationException(name, typeof(PdmOptions), [$"Pdm__{name} is required when Pdm__IotHubRegistryConnectionString is not set."])
            : value;
}
