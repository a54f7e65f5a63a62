using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pdm.Storage;

/// <summary>The time-partitioned tables retention applies to, by their name in the pdm schema.</summary>
public static class RetentionTables
{
    public const string Readings = "readings";
    public const string Scores = "anomaly_scores";
    public const string ReadingRollups1m = "reading_rollups_1m";
    public const string ReadingRollups1h = "reading_rollups_1h";
    public const string ScoreRollups1m = "score_rollups_1m";
    public const string ScoreRollups1h = "score_rollups_1h";

    public static IReadOnlyList<string> All { get; } =
        [Readings, Scores, ReadingRollups1m, ReadingRollups1h, ScoreRollups1m, ScoreRollups1h];
}

/// <summary>
/// Retention by whole partitions: a partition is dropped once all of it is older than the table's cutoff (a day of
/// readings or scores, a month of rollups), which costs no vacuum and no row-by-row delete.
/// </summary>
public sealed class RetentionStore(NpgsqlDataSource dataSource, ILogger<RetentionStore> logger)
{
    /// <summary>
    /// Applies every table's retention: drops what lies entirely before <paramref name="now"/> minus its period. Tables
    /// not in <paramref name="keep"/> keep everything. Returns the dropped partitions by table.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ApplyAsync(IReadOnlyDictionary<string, TimeSpan> keep,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var dropped = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (table, period) in keep)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero, nameof(keep));
            dropped[table] = await DropBeforeAsync(table, now - period, cancellationToken);
        }
        return dropped;
    }

    /// <summary>Drops the partitions of <paramref name="table"/> that end at or before <paramref name="cutoff"/>; returns their names.</summary>
    public async Task<IReadOnlyList<string>> DropBeforeAsync(string table, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        if (!RetentionTables.All.Contains(table, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{table}' has no retention; one of {string.Join(", ", RetentionTables.All)}", nameof(table));
        }
        await using var command = dataSource.PlatformCommand("SELECT pdm.drop_partitions_before($1, $2)", table, cutoff.UtcDateTime);
        var dropped = (string[])(await command.ExecuteScalarAsync(cancellationToken))!;
        foreach (var name in dropped)
        {
            logger.PartitionDropped(table, name, cutoff);
        }
        return dropped;
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "Retention dropped partition {Partition} of {Table} (everything before {Cutoff:u})")]
    public static partial void PartitionDropped(this ILogger logger, string table, string partition, DateTimeOffset cutoff);
}
