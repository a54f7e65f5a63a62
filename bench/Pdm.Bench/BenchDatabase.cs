using Npgsql;

namespace Pdm.Bench;

/// <summary>Database upkeep a benchmark does before its clock starts.</summary>
internal static class BenchDatabase
{
    /// <summary>
    /// <c>VACUUM (ANALYZE)</c> of each table (a superuser connection), then a checkpoint when asked: the work that a bulk
    /// load leaves for autovacuum and the checkpointer, done before the measurement instead of at random inside it.
    /// </summary>
    public static async Task VacuumAsync(string superuserConnectionString, IEnumerable<string> tables, bool checkpoint,
        CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(superuserConnectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var sql in tables.Select(t => $"VACUUM (ANALYZE) {t}").Concat(checkpoint ? ["CHECKPOINT"] : []))
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
