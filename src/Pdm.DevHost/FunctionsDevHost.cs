using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Pdm.AzureStorage;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Events;
using Pdm.DevHost.Handler;
using Pdm.DevHost.Triggers;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.DevHost;

/// <summary>
/// The local stand-in for the Azure Functions host: reads the real host.json and function.json files,
/// starts the custom handler, and drives it exactly as the host would (Event Hubs batches fed from the
/// IoT Hub topics on an MQTT broker, NCRONTAB timers, proxied HTTP requests, Storage queue messages).
/// </summary>
public sealed partial class FunctionsDevHost : IAsyncDisposable
{
    private readonly DevHostCounters _counters;
    private readonly HandlerProcess _handler;
    private readonly FunctionInvoker _invoker;
    private readonly ILogger _logger;
    private HttpProxy? _http;
    private MqttEventSource? _events;
    private IReadOnlyList<EventHubTrigger> _eventHubTriggers = [];
    private IReadOnlyList<TimerTrigger> _timers = [];
    private IReadOnlyList<QueueTrigger> _queueTriggers = [];
    private long _directSequence;

    private FunctionsDevHost(FunctionApp app, DevHostCounters counters, HandlerProcess handler, FunctionInvoker invoker, ILogger logger)
    {
        App = app;
        _counters = counters;
        _handler = handler;
        _invoker = invoker;
        _logger = logger;
    }

    /// <summary>The function app as loaded (host settings and functions).</summary>
    public FunctionApp App { get; }

    /// <summary>The HTTP front end, e.g. http://127.0.0.1:7071/; HTTP functions live under its route prefix (api/).</summary>
    public Uri BaseAddress => _http!.BaseAddress;

    /// <summary>Where the handler listens now (changes when it is restarted).</summary>
    internal Uri HandlerAddress => _handler.BaseAddress;

    public DevHostStats Stats => _counters.Snapshot();

    /// <summary>Loads the app, starts the handler and waits until it answers, then starts every trigger.</summary>
    /// <exception cref="DevHostException">Bad host.json/function.json (every problem listed), or a handler that did not come up.</exception>
    public static async Task<FunctionsDevHost> StartAsync(DevHostOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.PartitionCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.PartitionCount, "PartitionCount must be at least 1");
        }

        if (options.Mqtt is { } mqtt && !DeviceIds.IsPlatformId(mqtt.ClientId))
        {
            throw new DevHostException(
                $"MQTT client id '{mqtt.ClientId}' must start with '{DeviceIds.PlatformPrefix}': a device may use any other id, and the broker " +
                "would then disconnect one of the two sessions whenever the other connects.");
        }

        var logger = loggerFactory.CreateLogger<FunctionsDevHost>();
        var loaded = FunctionAppLoader.Load(options.FunctionAppDirectory,
            name => options.Environment.TryGetValue(name, out var value) ? value : Environment.GetEnvironmentVariable(name));
        if (!loaded.Succeeded)
        {
            throw new DevHostException($"The function app in {options.FunctionAppDirectory} cannot be hosted:", loaded.Problems);
        }

        var app = loaded.App!;
        var counters = new DevHostCounters();
        var handler = new HandlerProcess(ResolveHandler(options, app), counters, loggerFactory.CreateLogger<HandlerProcess>());
        try
        {
            await handler.StartAsync(cancellationToken);
        }
        catch
        {
            await handler.DisposeAsync();
            throw;
        }

        var invoker = new FunctionInvoker(() => handler.BaseAddress, app.Host.FunctionTimeout, options.TimeProvider, counters,
            loggerFactory.CreateLogger<FunctionInvoker>());
        var host = new FunctionsDevHost(app, counters, handler, invoker, logger);
        try
        {
            await host.StartTriggersAsync(options, loggerFactory, cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        logger.Started(app.Directory, app.Functions.Count, host.BaseAddress);
        return host;
    }

    /// <summary>Runs a timer function now, as the schedule would (retry policy included), and says how it went.</summary>
    internal Task<InvocationOutcome> InvokeTimerAsync(string functionName, CancellationToken cancellationToken)
    {
        var timer = _timers.FirstOrDefault(t => t.FunctionName.Equals(functionName, StringComparison.OrdinalIgnoreCase));
        if (timer is null)
        {
            return Task.FromResult(new InvocationOutcome
            {
                FunctionName = functionName,
                Succeeded = false,
                Attempts = 0,
                Error = $"No timerTrigger function named '{functionName}' (timer functions: {string.Join(", ", _timers.Select(t => t.FunctionName))})",
            });
        }

        return timer.FireAsync(cancellationToken);
    }

    /// <summary>
    /// Sends one batch straight to an Event Hubs function, in the payload shape the trigger uses, bypassing the
    /// broker: for benchmarks that measure the handler, not MQTT. Events get sequence numbers of their own.
    /// </summary>
    public Task<InvocationOutcome> InvokeEventHubAsync(string functionName, string partitionId, IReadOnlyList<DeviceEvent> events,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var trigger = _eventHubTriggers.FirstOrDefault(t => t.FunctionName.Equals(functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"No eventHubTrigger function named '{functionName}'", nameof(functionName));
        var first = Interlocked.Add(ref _directSequence, events.Count) - events.Count;
        var now = DateTime.UtcNow;
        var batch = events.Select((e, i) => new PartitionEvent
        {
            Event = e,
            PartitionId = partitionId,
            SequenceNumber = first + i,
            Offset = first + i,
            EnqueuedTimeUtc = now,
        }).ToList();
        return trigger.InvokeAsync(batch, cancellationToken);
    }

    /// <summary>Peak resident memory of the handler process so far, in MB (Linux /proc), or 0 when unknown.</summary>
    public double HandlerPeakRssMb => _handler.PeakResidentMegabytes();

    /// <summary>CPU time the current handler process has used (a benchmark's cost per request or per value).</summary>
    public TimeSpan HandlerCpuTime => _handler.CpuTime();

    public async ValueTask DisposeAsync()
    {
        // Stop the sources first so nothing new arrives, then the consumers, then the handler they call.
        if (_events is not null)
        {
            await _events.DisposeAsync();
        }

        foreach (var timer in _timers)
        {
            await timer.DisposeAsync();
        }

        foreach (var trigger in _eventHubTriggers)
        {
            await trigger.DisposeAsync();
        }

        foreach (var trigger in _queueTriggers)
        {
            await trigger.DisposeAsync();
        }

        if (_http is not null)
        {
            await _http.DisposeAsync();
        }

        _invoker.Dispose();
        await _handler.DisposeAsync();
    }

    private async Task StartTriggersAsync(DevHostOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var functions = App.Functions;
        _http = await HttpProxy.StartAsync(options.HttpPort, App.Host, [.. functions.Where(f => f.Trigger is HttpTriggerBinding)],
            () => _handler.BaseAddress, _counters, loggerFactory, cancellationToken);

        _timers = [.. functions.Where(f => f.Trigger is TimerTriggerBinding)
            .Select(f => new TimerTrigger(f, _invoker, options.TimeProvider, loggerFactory.CreateLogger<TimerTrigger>()))];
        foreach (var timer in _timers)
        {
            timer.Start();
        }

        _queueTriggers = CreateQueueTriggers(options, loggerFactory);
        foreach (var trigger in _queueTriggers)
        {
            trigger.Start();
        }

        _eventHubTriggers = [.. functions.Where(f => f.Trigger is EventHubTriggerBinding)
            .Select(f => new EventHubTrigger(f, App.Host.EventHubs, options.PartitionCount, _invoker, _counters, options.TimeProvider,
                loggerFactory.CreateLogger<EventHubTrigger>()))];
        if (_eventHubTriggers.Count == 0)
        {
            return;
        }

        foreach (var trigger in _eventHubTriggers)
        {
            trigger.Start();
        }

        if (options.Mqtt is null)
        {
            _logger.NoEventSource(_eventHubTriggers.Count);
            return;
        }

        var factory = options.MqttClientFactory
            ?? (mqtt => MqttNetClient.Create(mqtt, loggerFactory.CreateLogger<MqttNetClient>()));
        var endpoint = new BuiltInEndpoint(options.PartitionCount, [.. _eventHubTriggers.Select(t => (Action<PartitionEvent>)t.Deliver)],
            options.TimeProvider);
        var eventsLogger = loggerFactory.CreateLogger<MqttEventSource>();
        var callerCallback = options.Mqtt.ConnectionChanged;
        var mqtt = options.Mqtt with
        {
            ConnectionChanged = state =>
            {
                MqttEventSource.ReportState(state, options.Mqtt.ClientId, _counters, eventsLogger);
                callerCallback?.Invoke(state);
            },
        };
        _events = new MqttEventSource(factory(mqtt), endpoint.Append, _counters, eventsLogger);
        await _events.StartAsync(cancellationToken);
    }

    /// <summary>Receive requests a queue function has made so far (tests watch the back-off with it).</summary>
    internal long QueuePolls(string functionName) =>
        _queueTriggers.First(t => t.FunctionName.Equals(functionName, StringComparison.OrdinalIgnoreCase)).Polls;

    private List<QueueTrigger> CreateQueueTriggers(DevHostOptions options, ILoggerFactory loggerFactory)
    {
        var queueFunctions = App.Functions.Where(f => f.Trigger is QueueTriggerBinding).ToList();
        if (queueFunctions.Count == 0)
        {
            return [];
        }

        // App settings as the host sees them: ours over the process environment, NAME__key meaning NAME:key.
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(options.Environment.Select(s => KeyValuePair.Create(s.Key.Replace("__", ":", StringComparison.Ordinal), (string?)s.Value)))
            .Build();
        var accounts = new Dictionary<string, QueueServiceClient>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var triggers = new List<QueueTrigger>();
        foreach (var function in queueFunctions)
        {
            var binding = (QueueTriggerBinding)function.Trigger;
            if (!accounts.TryGetValue(binding.Connection, out var queues))
            {
                try
                {
                    // The trigger decodes message text itself (messageEncoding), so its client must not.
                    queues = StorageClients.Create(StorageSettings.Read(configuration, binding.Connection), clientOptions =>
                    {
                        if (clientOptions is QueueClientOptions queueOptions)
                        {
                            queueOptions.MessageEncoding = QueueMessageEncoding.None;
                        }
                    }).Queues;
                    accounts[binding.Connection] = queues;
                }
                catch (InvalidOperationException ex)
                {
                    problems.Add($"{function.Name}/function.json binding '{binding.Name}' property 'connection' ('{binding.Connection}'): {ex.Message}");
                    continue;
                }
            }

            triggers.Add(new QueueTrigger(function, App.Host.Queues, queues, _invoker, _counters, options.TimeProvider,
                loggerFactory.CreateLogger<QueueTrigger>()));
        }

        if (problems.Count > 0)
        {
            throw new DevHostException($"The function app in {App.Directory} cannot be hosted:", problems);
        }

        return triggers;
    }

    private static HandlerStartInfo ResolveHandler(DevHostOptions options, FunctionApp app)
    {
        // As the host does: a relative command is a file under the app root when one exists, else a command on PATH.
        var command = options.HandlerCommand ?? app.Host.HandlerExecutable ?? "handler";
        var local = Path.Combine(app.Directory, command);
        if (!Path.IsPathRooted(command) && File.Exists(local))
        {
            command = local;
        }

        return new HandlerStartInfo
        {
            Command = command,
            Arguments = options.HandlerArguments ?? app.Host.HandlerArguments,
            WorkingDirectory = app.Host.WorkingDirectory is { } dir ? Path.GetFullPath(dir, app.Directory) : app.Directory,
            AppRoot = app.Directory,
            Settings = options.Environment,
            InitializationTimeout = app.Host.InitializationTimeout,
        };
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7060, Level = LogLevel.Information, Message = "Dev host running {AppDirectory}: {FunctionCount} functions, HTTP at {BaseAddress}")]
    public static partial void Started(this ILogger logger, string appDirectory, int functionCount, Uri baseAddress);

    [LoggerMessage(EventId = 7061, Level = LogLevel.Warning, Message = "No MQTT broker configured: {Count} eventHubTrigger function(s) will get no events")]
    public static partial void NoEventSource(this ILogger logger, int count);
}
