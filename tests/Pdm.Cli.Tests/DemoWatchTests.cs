using System.Diagnostics;
using Pdm.DevHost;
using Pdm.LocalStack;
using Pdm.Mqtt;
using Pdm.Testing;

namespace Pdm.Cli.Tests;

/// <summary>The demo and `pdm stack up` notice at once when a part of them dies, say which and where its log is.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DemoWatchTests
{
    private static readonly DevHostStats NoRestarts = new()
    {
        EventsReceived = 0, EventsDelivered = 0, EventsDropped = 0, InvocationsSucceeded = 0, InvocationsFailed = 0,
        BatchesDropped = 0, HandlerRestarts = 0,
    };

    [Fact]
    public void Restart_budget_refuses_a_crash_loop_and_recovers_after_the_window()
    {
        var clock = new ManualClock();
        var budget = new RestartBudget(3, TimeSpan.FromMinutes(5), clock);

        Assert.True(budget.TryTake());
        Assert.True(budget.TryTake());
        Assert.True(budget.TryTake());
        Assert.False(budget.TryTake());

        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(budget.TryTake());
    }

    [Fact]
    public async Task A_killed_edge_module_is_restarted_and_a_crash_loop_stops_the_demo()
    {
        var log = Path.Combine(Path.GetTempPath(), $"pdm-watch-{Guid.NewGuid():N}.log");
        await using var edge = EdgeModuleProcess.Run(Sleeper(), log);
        var watch = new DemoWatch(() => null, edge, () => NoRestarts, new RestartBudget(1, TimeSpan.FromMinutes(5), TimeProvider.System));
        Assert.Null(watch.Check());

        var first = edge.ProcessId;
        await KillAsync(first);
        var restarted = watch.Check();

        Assert.NotNull(restarted);
        Assert.False(restarted.Fatal);
        Assert.Contains("exited (code 137)", restarted.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(log), restarted.Message, StringComparison.Ordinal);
        Assert.NotEqual(first, edge.ProcessId);
        Assert.True(Signals.IsRunning(edge.ProcessId));

        await KillAsync(edge.ProcessId);
        var gaveUp = watch.Check();

        Assert.NotNull(gaveUp);
        Assert.True(gaveUp.Fatal);
        Assert.Contains("after 1 restarts", gaveUp.Message, StringComparison.Ordinal);
        File.Delete(log);
    }

    [Fact]
    public async Task A_handler_restart_by_the_dev_host_is_reported_once()
    {
        var log = Path.Combine(Path.GetTempPath(), $"pdm-watch-{Guid.NewGuid():N}.log");
        var stats = NoRestarts;
        await using var edge = EdgeModuleProcess.Run(Sleeper(), log);
        var watch = new DemoWatch(() => null, edge, () => stats, new RestartBudget(1, TimeSpan.FromMinutes(5), TimeProvider.System));
        stats = stats with { HandlerRestarts = 1 };

        Assert.Contains("dev host restarted it (1 restarts", watch.Check()!.Message, StringComparison.Ordinal);
        Assert.Null(watch.Check());
        File.Delete(log);
    }

    [Fact]
    public async Task A_refused_broker_session_of_the_dev_host_is_reported_and_its_recovery_too()
    {
        var log = Path.Combine(Path.GetTempPath(), $"pdm-watch-{Guid.NewGuid():N}.log");
        var stats = NoRestarts with { Broker = new MqttConnectionState(MqttConnectionStatus.Connected, null, DateTimeOffset.UtcNow) };
        await using var edge = EdgeModuleProcess.Run(Sleeper(), log);
        var watch = new DemoWatch(() => null, edge, () => stats, new RestartBudget(1, TimeSpan.FromMinutes(5), TimeProvider.System));
        Assert.Null(watch.Check());

        stats = stats with { Broker = new MqttConnectionState(MqttConnectionStatus.Refused, "not authorised", DateTimeOffset.UtcNow) };
        var refused = watch.Check();
        Assert.NotNull(refused);
        Assert.Contains("refuses the dev host's session (not authorised)", refused.Message, StringComparison.Ordinal);
        Assert.Null(watch.Check());

        stats = stats with { Broker = new MqttConnectionState(MqttConnectionStatus.Connected, null, DateTimeOffset.UtcNow) };
        Assert.Contains("accepts the dev host's session again", watch.Check()!.Message, StringComparison.Ordinal);
        File.Delete(log);
    }

    [Theory]
    [InlineData("Mosquitto")]
    [InlineData("PostgreSQL")]
    [InlineData("Azurite")]
    [Trait("Category", "Integration")]
    public async Task A_killed_server_of_the_stack_is_named_with_its_log(string name)
    {
        var stack = new StackFixture();
        await stack.InitializeAsync();
        try
        {
            Assert.Null(stack.Stack.FindStoppedServer());
            // stack.json holds the broker's service password.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
                File.GetUnixFileMode(LocalServers.EndpointsFile(stack.Stack.StateDirectory)));
            var pid = name switch
            {
                "Mosquitto" => stack.Stack.Mosquitto.ProcessId,
                "PostgreSQL" => stack.Stack.Postgres.ProcessId,
                _ => stack.Stack.Azurite.ProcessId,
            };
            await KillAsync(pid!.Value);

            var stopped = stack.Stack.FindStoppedServer();

            Assert.NotNull(stopped);
            Assert.Equal(name, stopped.Name);
            Assert.Equal(pid, stopped.ProcessId);
            Assert.StartsWith(stack.Stack.StateDirectory, stopped.LogFile, StringComparison.Ordinal);
            Assert.True(File.Exists(stopped.LogFile), $"{stopped.LogFile} should exist");
        }
        finally
        {
            await stack.DisposeAsync();
        }
    }

    private static ProcessStartInfo Sleeper() => new("sleep", "60")
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };

    /// <summary>SIGKILL, then wait until the kernel reports it gone (a zombie counts as gone).</summary>
    private static async Task KillAsync(int pid)
    {
        Assert.True(Signals.Send(pid, 9));
        var deadline = Stopwatch.StartNew();
        while (Signals.IsRunning(pid) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
        Assert.False(Signals.IsRunning(pid), $"pid {pid} still runs 10 s after SIGKILL");
        // Process.HasExited needs the child reaped; give the runtime's SIGCHLD handling a moment.
        await Task.Delay(200);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
