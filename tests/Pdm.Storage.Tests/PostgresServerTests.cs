using System.Diagnostics;
using Npgsql;
using Pdm.LocalStack;

namespace Pdm.Storage.Tests;

[Trait("Category", "Integration")]
public sealed class PostgresServerTests
{
    [Fact]
    public async Task A_stopped_cluster_starts_again_from_its_state_directory_with_its_data()
    {
        var state = Path.Combine(Path.GetTempPath(), "pdm-pgserver-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var first = new PostgresServer(state, FreePort.Pick()))
            {
                await first.StartAsync(CancellationToken.None);
                var pid = first.ProcessId;
                Assert.NotNull(pid);
                Assert.False(Process.GetProcessById(pid.Value).HasExited);
                await ExecuteAsync(first.SuperuserConnectionString, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
                await first.StopAsync(CancellationToken.None);
                Assert.Null(first.ProcessId);
            }

            await using var second = new PostgresServer(state, FreePort.Pick());
            await second.StartAsync(CancellationToken.None);
            Assert.Equal(42, await ExecuteAsync(second.SuperuserConnectionString, "SELECT x FROM kept"));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
