using System.CommandLine;
using Pdm.LocalStack;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>`pdm db migrate`: applies the versioned SQL migrations (safe to run twice).</summary>
internal static class DbCommand
{
    public static Command Create()
    {
        var connection = new Option<string?>("--connection")
        {
            Description = "Npgsql connection string of the schema owner (default: the running local stack's database)",
        };
        var migrate = new Command("migrate", "Apply pending migrations") { connection };
        migrate.SetAction(async (parse, cancellationToken) =>
        {
            var ownerConnection = parse.GetValue(connection);
            if (ownerConnection is null)
            {
                var endpoints = LocalServers.ReadEndpoints(CliPaths.LocalState);
                if (endpoints is null)
                {
                    await Console.Error.WriteLineAsync("No local stack is running: start one with `./pdm stack up`, or pass --connection.");
                    return 2;
                }
                var database = await LocalEnvironment.PrepareDatabaseAsync(endpoints, CliPaths.LocalDatabaseName, cancellationToken);
                Console.WriteLine($"Database '{database.Name}' on the local stack is migrated.");
                return 0;
            }
            var report = await DatabaseMigrator.MigrateAsync(ownerConnection, new MigrationOptions(), cancellationToken);
            Console.WriteLine(report);
            return 0;
        });
        return new Command("db", "Database schema") { migrate };
    }
}
