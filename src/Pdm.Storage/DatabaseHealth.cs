using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pdm.Storage;

/// <summary>Whether the database answers as the application role; for health checks.</summary>
public sealed class DatabaseHealth(NpgsqlDataSource dataSource, ILogger<DatabaseHealth> logger)
{
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            return await command.ExecuteScalarAsync(cancellationToken) is 1;
        }
        catch (NpgsqlException ex)
        {
            logger.PingFailed(ex);
            return false;
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Database health check failed")]
    public static partial void PingFailed(this ILogger logger, Exception exception);
}
