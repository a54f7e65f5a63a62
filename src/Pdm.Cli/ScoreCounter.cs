using Npgsql;

namespace Pdm.Cli;

/// <summary>
/// Counts one tenant's stored anomaly scores for the demo's progress line. Reads as the database owner (whose policy
/// sees every tenant, so the tenant is a filter here). Before the anomaly_scores migration exists there is nothing to
/// count, and while the database is away neither: both give null.
/// </summary>
internal sealed class ScoreCounter(string ownerConnectionString, Guid tenantId) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(ownerConnectionString);
    private bool _tableExists;

    public async Task<(long Scores, long Anomalies)?> TryCountAsync()
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            if (!_tableExists)
            {
                await using var exists = new NpgsqlCommand("SELECT to_regclass('pdm.anomaly_scores') IS NOT NULL", connection);
                _tableExists = (bool)(await exists.ExecuteScalarAsync())!;
                if (!_tableExists)
                {
                    return null;
                }
            }
            await using var count = new NpgsqlCommand(
                "SELECT count(*), count(*) FILTER (WHERE anomaly) FROM pdm.anomaly_scores WHERE tenant_id = $1", connection)
            {
                Parameters = { new() { Value = tenantId } },
            };
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
        catch (NpgsqlException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
