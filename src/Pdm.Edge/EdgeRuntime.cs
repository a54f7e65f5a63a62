using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pdm.Edge.Cloud;
using Pdm.Edge.Configuration;
using Pdm.Edge.Modbus;
using Pdm.Edge.Opc;
using Pdm.Edge.Pipeline;
using Pdm.Edge.Queue;
using Pdm.Edge.Sources;
using Pdm.IotHub;
using Pdm.Mqtt;

namespace Pdm.Edge;

/// <summary>
/// The edge module: sources from the configuration write readings into the disk queue, the forwarder drains it to
/// the cloud, configuration changes (file or twin) restart the sources without restarting the module, and status
/// goes to the twin's reported properties and to <c>status.json</c> in the data directory.
/// </summary>
public sealed partial class EdgeRuntime : IAsyncDisposable
{
    private const string OpcInputPrefix = "inputs/" + OpcPublisherSource.InputName + "/";

    private readonly EdgeOptions _settings;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DiskQueue _queue;
    private readonly QueueSink _sink;
    private readonly CloudLink _link;
    private readonly IMqttClient _mqtt;
    private readonly ConfigurationStore _store;
    private readonly TwinDesiredProperties _desired;
    private readonly TelemetryForwarder _forwarder;
    private readonly Channel<EdgeConfiguration> _changes = Channel.CreateUnbounded<EdgeConfiguration>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly IHttpClientFactory _httpClients;
    private ChannelReader<MqttMessage>? _opcInput;
    private TwinClient? _twin;
    private IDisposable? _queueGauge;
    private volatile IReadOnlyList<ISource> _sources = [];
    private int _disposed;

    private EdgeRuntime(EdgeOptions settings, CloudLink link, DiskQueue queue, IHttpClientFactory httpClients, ILoggerFactory loggers,
        TimeProvider time)
    {
        _settings = settings;
        _httpClients = httpClients;
        _loggers = loggers;
        _logger = loggers.CreateLogger<EdgeRuntime>();
        _time = time;
        _queue = queue;
        _sink = new QueueSink(queue);
        _link = link;
        _mqtt = MqttNetClient.Create(link.MqttOptions, loggers.CreateLogger<MqttNetClient>());
        _store = new ConfigurationStore(loggers.CreateLogger<ConfigurationStore>(), time);
        _desired = new TwinDesiredProperties(_store, loggers.CreateLogger<TwinDesiredProperties>());
        _forwarder = new TelemetryForwarder(queue, _mqtt, link.TelemetryTopic, link.DeviceId, settings.MaxSamplesPerMessage, time,
            loggers.CreateLogger<TelemetryForwarder>());
        _store.Changed += (_, e) => _changes.Writer.TryWrite(e.Configuration);
    }

    public ConfigurationStore Configuration => _store;

    public IReadOnlyList<SourceStatus> Sources => [.. _sources.Select(s => s.Status)];

    public DiskQueueStats Queue => _queue.GetStats();

    /// <summary>The last sequence number each machine's readings got.</summary>
    public IReadOnlyDictionary<string, long> LastSequences => _queue.LastSequences();

    public ForwarderStatus Forwarder => _forwarder.Status;

    public CloudLink Cloud => _link;

    /// <summary>What edgeHub routes to this module's OPC input: subscribed to and routed with the same filter.</summary>
    private string OpcInputFilter => $"devices/{_link.DeviceId}/modules/{_link.ModuleId}/{OpcInputPrefix}#";

    /// <summary>
    /// Opens the queue, resolves the cloud connection and starts every loop; returns without waiting for the broker.
    /// The host calls this through <see cref="EdgeRuntimeService"/> (see <see cref="EdgeServiceCollectionExtensions.AddPdmEdge"/>).
    /// </summary>
    /// <param name="environment">Where the IoT Edge runtime's <c>IOTEDGE_*</c> variables are read; the process environment if null.</param>
    public static async Task<EdgeRuntime> StartAsync(EdgeOptions settings, CloudSettings cloud, IHttpClientFactory httpClients,
        ILoggerFactory loggerFactory, TimeProvider? timeProvider = null, Func<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(httpClients);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var time = timeProvider ?? TimeProvider.System;
        Directory.CreateDirectory(settings.DataDirectory);
        var link = await CloudLink.CreateAsync(cloud, environment ?? Environment.GetEnvironmentVariable, settings.DataDirectory, time,
            loggerFactory, cancellationToken);
        if (settings.ConfigurationFile is null && !link.TwinAvailable)
        {
            link.Dispose();
            throw new InvalidOperationException(NoConfigurationSource(link.Mode));
        }
        var queue = DiskQueue.Open(new DiskQueueOptions { Directory = Path.Combine(settings.DataDirectory, "queue") },
            loggerFactory.CreateLogger<DiskQueue>(), time);
        var runtime = new EdgeRuntime(settings, link, queue, httpClients, loggerFactory, time);
        runtime._queueGauge = EdgeTelemetry.ObserveQueue(queue);
        runtime.Start();
        return runtime;
    }

    internal static string NoConfigurationSource(CloudMode mode) =>
        $"No configuration source: in {mode} mode there is no module twin, so set a configuration file.";

    private void Start()
    {
        var token = _stop.Token;
        if (_link.TwinAvailable)
        {
            // One MQTT session carries telemetry, the twin and (as an IoT Edge module) OPC Publisher's routed messages.
            var router = new MqttTopicRouter(_mqtt.Messages, _loggers.CreateLogger<MqttTopicRouter>());
            _twin = TwinClient.Create(_mqtt, router, _loggers.CreateLogger<TwinClient>());
            if (_link.Mode == CloudMode.IotEdge)
            {
                _opcInput = router.Route(OpcInputFilter);
            }
            _tasks.Add(router.RunAsync(token));
        }
        _tasks.Add(ConnectThenForwardAsync(token));
        if (_settings.ConfigurationFile is { } file)
        {
            var watcher = new FileConfigurationWatcher(file, _store, _loggers.CreateLogger<FileConfigurationWatcher>());
            _tasks.Add(watcher.RunAsync(token));
        }
        _tasks.Add(SuperviseSourcesAsync(token));
        _tasks.Add(ReportStatusAsync(token));
    }

    private async Task ConnectThenForwardAsync(CancellationToken cancellationToken)
    {
        var random = new Random();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _mqtt.ConnectAsync(cancellationToken);
                break;
            }
            catch (MqttException exception)
            {
                var delay = ReconnectBackoff.NextDelay(attempt, _link.MqttOptions.ReconnectMinDelay, _link.MqttOptions.ReconnectMaxDelay, random);
                Log.ConnectFailed(_logger, _link.Mode, exception.Message, delay);
                await Task.Delay(delay, _time, cancellationToken);
            }
        }
        if (_opcInput is not null)
        {
            await _mqtt.SubscribeAsync(OpcInputFilter, 1, cancellationToken);
        }
        var twin = _twin is null ? Task.CompletedTask : FollowTwinAsync(_twin, cancellationToken);
        await Task.WhenAll(twin, _forwarder.RunAsync(cancellationToken));
    }

    private async Task FollowTwinAsync(TwinClient twin, CancellationToken cancellationToken)
    {
        await twin.StartAsync(cancellationToken);
        var random = new Random();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await ApplyFullTwinAsync(twin, cancellationToken);
                await foreach (var patch in twin.DesiredPatches.ReadAllAsync(cancellationToken))
                {
                    // A patch after a gap (missed while disconnected) needs the whole twin to be sure nothing was lost.
                    if (_desired.ApplyPatch(patch).Status == TwinApplyStatus.FullTwinNeeded)
                    {
                        await ApplyFullTwinAsync(twin, cancellationToken);
                    }
                    attempt = 0;
                }
                return;
            }
            catch (Exception exception) when (exception is TwinException or MqttException or TimeoutException)
            {
                // Throttled or the hub is away: the configuration that runs keeps running; ask again later.
                var delay = ReconnectBackoff.NextDelay(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), random);
                Log.TwinUnavailable(_logger, exception.Message, delay);
                await Task.Delay(delay, _time, cancellationToken);
            }
        }
    }

    private async Task ApplyFullTwinAsync(TwinClient twin, CancellationToken cancellationToken)
    {
        var document = await twin.GetAsync(cancellationToken);
        _desired.ApplyFull(document.Desired);
    }

    private async Task SuperviseSourcesAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? running = null;
        var runningTasks = new List<Task>();
        try
        {
            await foreach (var configuration in _changes.Reader.ReadAllAsync(cancellationToken))
            {
                // Simple and predictable: a new configuration stops every source and starts the new set.
                if (running is not null)
                {
                    await running.CancelAsync();
                    await Task.WhenAll(runningTasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    running.Dispose();
                    runningTasks.Clear();
                }
                _queue.MaxBytes = configuration.Queue.MaxBytes;
                var sources = CreateSources(configuration);
                running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                foreach (var source in sources)
                {
                    runningTasks.Add(RunSourceAsync(source, running.Token));
                }
                _sources = sources;
                Log.SourcesStarted(_logger, sources.Count, _store.Version);
            }
        }
        finally
        {
            if (running is not null)
            {
                await running.CancelAsync();
                await Task.WhenAll(runningTasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                running.Dispose();
            }
        }
    }

    private List<ISource> CreateSources(EdgeConfiguration configuration)
    {
        var sources = new List<ISource>();
        sources.AddRange(configuration.Modbus.Select(d => new ModbusSource(d, null, _time, _loggers.CreateLogger<ModbusSource>())));
        sources.AddRange(configuration.Mqtt.Select(m => new MqttSource(m, _loggers.CreateLogger<MqttSource>(), _time)));
        sources.AddRange(configuration.Http.Select(h => new HttpSource(h, _httpClients.CreateClient(HttpSource.HttpClientName),
            _loggers.CreateLogger<HttpSource>(), _time)));
        if (_opcInput is not null)
        {
            sources.Add(new OpcPublisherSource(configuration.Opc, _opcInput, _time, _loggers.CreateLogger<OpcPublisherSource>()));
        }
        return sources;
    }

    private async Task RunSourceAsync(ISource source, CancellationToken cancellationToken)
    {
        try
        {
            await source.RunAsync(_sink, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped for a new configuration or shutdown.
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A source must report its own failures; one that throws anyway must not take the others down.
            Log.SourceCrashed(_logger, exception, source.Name);
        }
    }

    /// <summary>The status document: configuration, every source, queue and forwarder (the twin's reported properties).</summary>
    public string BuildStatus()
    {
        var queue = _queue.GetStats();
        var forwarder = _forwarder.Status;
        return _desired.BuildReported(Sources, new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["readings"] = queue.Count,
            ["bytes"] = queue.Bytes,
            ["enqueued"] = queue.Enqueued,
            ["acknowledged"] = queue.Acknowledged,
            ["droppedReadings"] = queue.DroppedRecords,
            ["droppedBytes"] = queue.DroppedBytes,
            ["nonFiniteValuesDropped"] = _sink.NonFiniteValues,
            ["messagesSent"] = forwarder.MessagesSent,
        });
    }

    private async Task ReportStatusAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(_settings.DataDirectory, "status.json");
        using var timer = new PeriodicTimer(_settings.StatusInterval, _time);
        do
        {
            var status = BuildStatus();
            var temporary = path + ".tmp";
            await File.WriteAllTextAsync(temporary, status, cancellationToken);
            File.Move(temporary, path, overwrite: true);
            if (_twin is not null && _mqtt.IsConnected)
            {
                try
                {
                    await _twin.UpdateReportedAsync(status, cancellationToken);
                }
                catch (Exception exception) when (exception is TwinException or MqttException or TimeoutException)
                {
                    Log.StatusReportFailed(_logger, exception.Message);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        // The host's service and a caller holding the runtime may both dispose it.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        _changes.Writer.TryComplete();
        await Task.WhenAll(_tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_twin is not null)
        {
            await _twin.DisposeAsync();
        }
        await _mqtt.DisposeAsync();
        _queueGauge?.Dispose();
        await _queue.DisposeAsync();
        _link.Dispose();
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(5330, LogLevel.Warning, "Cannot connect to the cloud ({Mode}): {Error}; retrying in {RetryIn}")]
        public static partial void ConnectFailed(ILogger logger, CloudMode mode, string error, TimeSpan retryIn);

        [LoggerMessage(5331, LogLevel.Information, "Started {Count} sources for configuration version {Version}")]
        public static partial void SourcesStarted(ILogger logger, int count, long version);

        [LoggerMessage(5332, LogLevel.Error, "Source {Source} stopped with an error")]
        public static partial void SourceCrashed(ILogger logger, Exception exception, string source);

        [LoggerMessage(5333, LogLevel.Warning, "Reporting status to the module twin failed: {Error}")]
        public static partial void StatusReportFailed(ILogger logger, string error);

        [LoggerMessage(5334, LogLevel.Warning, "Reading the module twin failed ({Error}); asking again in {RetryIn}")]
        public static partial void TwinUnavailable(ILogger logger, string error, TimeSpan retryIn);
    }
}
