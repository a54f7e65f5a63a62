using System.Globalization;
using Pdm.Storage;

namespace Pdm.LocalStack;

/// <summary>A database on the local PostgreSQL, migrated, with the owner and application connection strings.</summary>
public sealed record LocalDatabase(string Name, string OwnerConnectionString, string AppConnectionString);

/// <summary>What the local demo, the benchmarks and the end-to-end tests all need on top of a running stack.</summary>
public static class LocalEnvironment
{
    /// <summary>The application role's password locally; in Azure the app signs in with its managed identity.</summary>
    private const string LocalAppPassword = "pdm-local-app";

    /// <summary>Creates (when missing) the database and its roles and applies every migration.</summary>
    public static async Task<LocalDatabase> PrepareDatabaseAsync(this LocalServers stack, string databaseName, CancellationToken cancellationToken) =>
        await PrepareDatabaseAsync(stack.Endpoints, databaseName, cancellationToken);

    public static async Task<LocalDatabase> PrepareDatabaseAsync(StackEndpoints endpoints, string databaseName, CancellationToken cancellationToken)
    {
        var connections = await DatabaseSetup.EnsureDatabaseAndRolesAsync(
            endpoints.PostgresSuperuserConnectionString, databaseName, LocalAppPassword, cancellationToken);
        await DatabaseMigrator.MigrateAsync(connections.OwnerConnectionString, new MigrationOptions(), cancellationToken);
        return new LocalDatabase(databaseName, connections.OwnerConnectionString, connections.AppConnectionString);
    }

    /// <summary>
    /// The key that encrypts webhook secrets locally: derived from the database name, so secrets stored in a local
    /// database still decrypt after a restart. In Azure it is a Key Vault reference.
    /// </summary>
    public static string LocalWebhookSecretKey(string databaseName) =>
        Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes("pdm-local-webhook-secret-key/" + databaseName)));

    /// <summary>
    /// The function app's settings against the local stand-ins: the same names it reads in Azure
    /// (environment variables), with the stack's IoT Hub registry stand-in as the device registry.
    /// </summary>
    public static IReadOnlyDictionary<string, string> FunctionAppSettings(StackEndpoints endpoints, LocalDatabase database) =>
        new Dictionary<string, string>
        {
            ["Pdm__Database"] = database.AppConnectionString,
            ["Pdm__IotHubRegistryConnectionString"] = endpoints.IotHubRegistryConnectionString,
            ["Pdm__IotHubRegistryEndpoint"] = endpoints.IotHubRegistryEndpoint,
            ["Pdm__WebhookSecretKey"] = LocalWebhookSecretKey(database.Name),
            // No IoT Hub locally: edge deployments are written here instead of applied.
            ["Pdm__EdgeDeployment__ManifestDirectory"] = Path.Combine(endpoints.StateDirectory, "edge-deployments"),
            ["Pdm__MqttEndpoint"] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{endpoints.MqttPort}"),
            ["AzureWebJobsStorage"] = endpoints.StorageConnectionString,
            ["IOTHUB_EH_NAME"] = "local-iothub",
            ["IOTHUB_CONSUMER_GROUP"] = "pdm-ingest",
            ["DEADLETTER_REPLAY_SCHEDULE"] = "*/15 * * * * *",
            ["PREDICT_SCHEDULE"] = "0 */1 * * * *",
            ["ALERT_TICK_SCHEDULE"] = "0 */1 * * * *",
            ["PUBLISH_ALERTS_SCHEDULE"] = "*/10 * * * * *",
            ["ROLLUP_SCHEDULE"] = "*/15 * * * * *",
            ["RETENTION_SCHEDULE"] = "0 17 3 * * *",
            ["WEBHOOK_DELIVERY_QUEUE"] = "webhook-deliveries",
        };
}
