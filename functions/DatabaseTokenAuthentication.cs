using Azure.Core;
using Azure.Identity;
using Npgsql;

namespace Pdm.Functions;

/// <summary>
/// Azure Database for PostgreSQL with Entra ID: the access token of the app's managed identity is the password. Tokens
/// live about an hour, so a fresh one is fetched in the background well before that and used for new connections.
/// </summary>
internal static class DatabaseTokenAuthentication
{
    private static readonly TokenRequestContext PostgresScope = new(["https://ossrdbms-aad.database.windows.net/.default"]);

    public static void Configure(NpgsqlDataSourceBuilder dataSource, PdmOptions options)
    {
        if (string.IsNullOrEmpty(options.DatabaseCredential))
        {
            return;
        }
        var credential = new ManagedIdentityCredential(string.IsNullOrEmpty(options.DatabaseClientId)
            ? ManagedIdentityId.SystemAssigned
            : ManagedIdentityId.FromUserAssignedClientId(options.DatabaseClientId));
        dataSource.UsePeriodicPasswordProvider(
            async (_, cancellationToken) => (await credential.GetTokenAsync(PostgresScope, cancellationToken)).Token,
            successRefreshInterval: TimeSpan.FromMinutes(30),
            failureRefreshInterval: TimeSpan.FromSeconds(10));
    }
}
