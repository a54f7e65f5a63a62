using Pdm.LocalStack;

namespace Pdm.Testing;

/// <summary>
/// The local stack (PostgreSQL, Mosquitto, Azurite) for one test assembly: started once before its first test,
/// stopped after its last, also when tests fail. State lives under .pdm/test-runs/ and is deleted afterwards.
/// Tests keep out of each other's way with their own database, device ids, containers and queues.
/// </summary>
public sealed class StackFixture : IAsyncLifetime
{
    private LocalServers? _stack;

    public LocalServers Stack => _stack ?? throw new InvalidOperationException("stack not started");
    public StackEndpoints Endpoints => Stack.Endpoints;

    public async Task InitializeAsync()
    {
        var state = Path.Combine(RepoPaths.Root, ".pdm", "test-runs", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _stack = await LocalServers.StartAsync(state, RepoPaths.Root, timeout.Token);
    }

    /// <summary>A fresh migrated database for one test class or test.</summary>
    public Task<LocalDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default) =>
        Stack.PrepareDatabaseAsync($"pdm_{Guid.NewGuid():N}"[..24], cancellationToken);

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.StopAsync();
            try
            {
                Directory.Delete(_stack.StateDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A server still flushing a file; the folder is gitignored and the next run does not reuse it.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
