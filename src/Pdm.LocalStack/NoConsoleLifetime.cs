using Microsoft.Extensions.Hosting;

namespace Pdm.LocalStack;

/// <summary>For servers embedded in another program: no Ctrl-C handling or console messages of their own.</summary>
internal sealed class NoConsoleLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
