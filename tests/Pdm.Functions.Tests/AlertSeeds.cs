using Microsoft.Extensions.DependencyInjection;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Alerts.Rules;
using Pdm.Storage;
using Pdm.Testing;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>Open alerts stored as the evaluation stores them (see <see cref="AlertSeeding"/>, shared with the dashboard tests).</summary>
internal static class AlertSeeds
{
    public static string UniqueRuleId() => "r" + Guid.NewGuid().ToString("N")[..12];

    public static Task<Alert> OpenAsync(PdmStores stores, Guid tenant, string machineId, string ruleId,
        AlertSeverity severity = AlertSeverity.High, DateTimeOffset? at = null, RuleSubject subject = RuleSubject.Machine) =>
        AlertSeeding.OpenAsync(stores, tenant, machineId, ruleId, severity, at, subject);
}

/// <summary>Subscriptions stored directly (not through the API), with a secret protected as the API protects it.</summary>
internal static class SubscriptionSeeds
{
    public static async Task<WebhookSubscriptionRow> CreateAsync(ApiFactory factory, Guid tenant, string url = "https://seeded.public.test/hook")
    {
        var id = Guid.CreateVersion7();
        var protector = factory.Services.GetRequiredService<IWebhookSecretProtector>();
        return await factory.Services.GetRequiredService<SubscriptionStore>().CreateAsync(tenant, id,
            new WebhookSubscriptionSettings { Url = url }, protector.Protect(WebhookSecret.Generate(), id.ToString("D")), CancellationToken.None);
    }
}

/// <summary>A tenant of its own for a test, with a tenant-admin key named like an operator and a tenant-reader key.</summary>
internal sealed record OwnTenant(Guid Id, string AdminName, string AdminKey, string ReaderKey, PdmStores Stores)
{
    public static async Task<OwnTenant> CreateAsync(ApiFixture fixture, string prefix)
    {
        var stores = PdmStores.Create(fixture.Database.AppConnectionString);
        var id = (await stores.Tenants.CreateTenantAsync(AuthorizationTable.Unique(prefix), CancellationToken.None)).Id;
        var adminName = AuthorizationTable.Unique("operator");
        var admin = await stores.ApiKeys.CreateApiKeyAsync(id, adminName, ApiKeyRole.Admin, CancellationToken.None);
        var reader = await stores.ApiKeys.CreateApiKeyAsync(id, "dashboard", ApiKeyRole.Viewer, CancellationToken.None);
        return new OwnTenant(id, adminName, admin.Plaintext, reader.Plaintext, stores);
    }

    /// <summary>A count over the tenant's rows, as the application role sees them (row-level security set to this tenant).</summary>
    public async Task<long> CountAsync(ApiFixture fixture, string sql, params object[] parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.Database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var set = new Npgsql.NpgsqlCommand("SELECT set_config('pdm.tenant_id', $1, true)", connection, transaction))
        {
            set.Parameters.Add(new Npgsql.NpgsqlParameter { Value = Id.ToString() });
            await set.ExecuteNonQueryAsync();
        }
        await using var query = new Npgsql.NpgsqlCommand(sql, connection, transaction);
        foreach (var value in parameters)
        {
            query.Parameters.Add(new Npgsql.NpgsqlParameter { Value = value });
        }
        return Convert.ToInt64(await query.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
