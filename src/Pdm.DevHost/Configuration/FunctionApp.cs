namespace Pdm.DevHost.Configuration;

/// <summary>A function app as the dev host understands it: host.json settings plus one entry per function folder.</summary>
public sealed record FunctionApp
{
    public required string Directory { get; init; }
    public required HostSettings Host { get; init; }
    public required IReadOnlyList<FunctionDefinition> Functions { get; init; }
}

/// <summary>The parts of host.json the dev host acts on.</summary>
public sealed record HostSettings
{
    /// <summary>customHandler.description.defaultExecutablePath, as written (null when absent).</summary>
    public string? HandlerExecutable { get; init; }
    public IReadOnlyList<string> HandlerArguments { get; init; } = [];
    /// <summary>customHandler.description.workingDirectory; relative paths are resolved against the app root.</summary>
    public string? WorkingDirectory { get; init; }
    public bool EnableProxyingHttpRequest { get; init; }
    public TimeSpan InitializationTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>functionTimeout; null means no limit (the host then waits for the handler indefinitely).</summary>
    public TimeSpan? FunctionTimeout { get; init; }
    public string RoutePrefix { get; init; } = "api";
    public EventHubSettings EventHubs { get; init; } = new();
}

/// <summary>host.json extensions.eventHubs, with the extension's defaults.</summary>
public sealed record EventHubSettings
{
    public int MaxEventBatchSize { get; init; } = 100;
    public int MinEventBatchSize { get; init; } = 1;
    public TimeSpan MaxWaitTime { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>One function folder: its name (= folder name = path the host posts to), trigger and retry policy.</summary>
public sealed record FunctionDefinition
{
    public required string Name { get; init; }
    public required TriggerBinding Trigger { get; init; }
    public RetryPolicy? Retry { get; init; }
}

/// <summary>The trigger binding of a function; <see cref="Name"/> is the key under Data in the invocation payload.</summary>
public abstract record TriggerBinding
{
    public required string Name { get; init; }
}

public sealed record EventHubTriggerBinding : TriggerBinding
{
    public required string EventHubName { get; init; }
    public required string ConsumerGroup { get; init; }
    /// <summary>dataType binary: bodies go out as base64; string: as UTF-8 text.</summary>
    public required bool Binary { get; init; }
}

public sealed record TimerTriggerBinding : TriggerBinding
{
    public required CronSchedule Schedule { get; init; }
    public bool RunOnStartup { get; init; }
}

public sealed record HttpTriggerBinding : TriggerBinding
{
    /// <summary>Route template below the route prefix; the function name when function.json sets none.</summary>
    public required string Route { get; init; }
    /// <summary>Allowed methods, upper case; empty means any method.</summary>
    public required IReadOnlyList<string> Methods { get; init; }
}
