using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// A timerTrigger function: fires on its NCRONTAB schedule (UTC), optionally once at startup, never
/// overlapping itself (the host holds a singleton lock per timer), with the function's retry policy.
/// </summary>
internal sealed partial class TimerTrigger : IAsyncDisposable
{
    // Task.Delay cannot wait longer than ~49 days; longer waits are split and the schedule re-read.
    private static readonly TimeSpan MaxSingleWait = TimeSpan.FromDays(1);

    private readonly FunctionDefinition _function;
    private readonly TimerTriggerBinding _binding;
    private readonly FunctionInvoker _invoker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private DateTime? _last;
    private Task? _loop;

    public TimerTrigger(FunctionDefinition function, FunctionInvoker invoker, TimeProvider time, ILogger logger)
    {
        _function = function;
        _binding = (TimerTriggerBinding)function.Trigger;
        _invoker = invoker;
        _time = time;
        _logger = logger;
    }

    public string FunctionName => _function.Name;

    public void Start() => _loop = RunAsync(_stopping.Token);

    /// <summary>Runs the function now (after any run in progress), with its retry policy.</summary>
    public async Task<InvocationOutcome> FireAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow().UtcDateTime;
            var outcome = await _invoker.InvokeAsync(_function, BuildInput(_binding, _last, now), cancellationToken);
            _last = now;
            return outcome;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stopping.Dispose();
        _gate.Dispose();
    }

    /// <summary>Data.&lt;name&gt; is TimerInfo, which the host sends as a nested object (not string-encoded); Metadata has only sys.</summary>
    public static InvocationInput BuildInput(TimerTriggerBinding binding, DateTime? last, DateTime now)
    {
        var timerInfo = new JsonObject
        {
            ["Schedule"] = new JsonObject { ["AdjustForDST"] = true },
            ["ScheduleStatus"] = new JsonObject
            {
                ["Last"] = last ?? DateTime.MinValue,
                ["Next"] = binding.Schedule.GetNextOccurrence(now),
                ["LastUpdated"] = now,
            },
            ["IsPastDue"] = false,
        };
        return new InvocationInput(new JsonObject { [binding.Name] = timerInfo }, []);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            if (_binding.RunOnStartup)
            {
                await RunOnceAsync(stopping);
            }

            // Search from the later of now and the occurrence just run, so a timer that wakes a hair early cannot run twice.
            var after = _time.GetUtcNow().UtcDateTime;
            while (_binding.Schedule.GetNextOccurrence(after) is { } next)
            {
                var wait = next - _time.GetUtcNow().UtcDateTime;
                if (wait > MaxSingleWait)
                {
                    await Task.Delay(MaxSingleWait, _time, stopping);
                    continue;
                }

                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stopping);
                }

                await RunOnceAsync(stopping);
                var now = _time.GetUtcNow().UtcDateTime;
                after = now > next ? now : next;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task RunOnceAsync(CancellationToken stopping)
    {
        var outcome = await FireAsync(stopping);
        if (!outcome.Succeeded)
        {
            // Without (or after) a retry policy a failed run is not repeated; the next occurrence runs as usual.
            _logger.TimerRunFailed(_function.Name, outcome.Attempts, outcome.Error ?? "");
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7040, Level = LogLevel.Error, Message = "Timer {FunctionName} failed after {Attempts} attempts: {Reason}")]
    public static partial void TimerRunFailed(this ILogger logger, string functionName, int attempts, string reason);
}
