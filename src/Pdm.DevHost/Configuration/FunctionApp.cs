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
    public QueueSettings Queues { get; init; } = new();
}

/// <summary>host.json extensions.eventHubs, with the extension's defaults.</summary>
public sealed record EventHubSettings
{
    public int MaxEventBatchSize { get; init; } = 100;
    public int MinEventBatchSize { get; init; } = 1;
    public TimeSpan MaxWaitTime { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>host.json extensions.queues, with the Storage queues extension's defaults.</summary>
public sealed record QueueSettings
{
    /// <summary>The most messages one receive may ask for (a Storage limit).</summary>
    public const int MaxBatchSize = 32;

    /// <summary>The shortest wait between polls of an empty queue; the back-off starts here.</summary>
    public static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    public int BatchSize { get; init; } = 16;
    /// <summary>A new batch is fetched once this many or fewer messages of the previous ones are still in flight.</summary>
    public int NewBatchThreshold { get; init; } = 8;
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>How long a failed message stays invisible before it is tried again.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; init; } = 5;
    /// <summary>messageEncoding base64 (the default): message text is base64 of the UTF-8 body; false for "none".</summary>
    public bool Base64 { get; init; } = true;

    /// <summary>Messages of one function in flight at once: a full batch plus the threshold's worth of the one before.</summary>
    public int MaxInFlight => BatchSize + NewBatchThreshold;
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

public sealed record QueueTriggerBinding : TriggerBinding
{
    public required string QueueName { get; init; }
    /// <summary>The app setting (or setting prefix for the identity form) naming the storage account.</summary>
    public required string Connection { get; init; }
    /// <summary>dataType binary: the body goes out as base64; otherwise as text.</summary>
    public required bool Binary { get; init; }

    /// <summary>Where messages go after maxDequeueCount failed attempts, as the host names it.</summary>
    public string PoisonQueueName => QueueName + "-poison";
}
