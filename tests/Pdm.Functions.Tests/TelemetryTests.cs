using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Events;
using Pdm.DevHost.Handler;
using Pdm.DevHost.Triggers;
using Pdm.Edge;
using Pdm.Edge.Pipeline;
using Pdm.Edge.Queue;
using Pdm.Ingest;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.ServiceDefaults;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>
/// What the pipeline emits: the Ingest spans and metrics of a batch through the real endpoint, the edge's message id
/// in the ingest log scope of that message (through the dev host's own Event Hubs payload), and exporters only when
/// their variables say so.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class TelemetryTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_batch_through_Ingest_gives_the_batch_span_its_phases_and_the_ingest_metrics()
    {
        // Spans end on any thread, and other test classes' apps run beside this one: collect them thread-safely.
        var ended = new SpanRecorder();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TelemetryExtensions.PdmNames, "Microsoft.AspNetCore") // the app traces its requests too; ours are their children
            .AddProcessor(ended).Build();
        var meter = fixture.Factory.Services.GetRequiredService<IngestMetrics>().Meter;
        var measured = new ConcurrentDictionary<string, double>();
        var tags = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, t, _) =>
        {
            measured.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            foreach (var tag in t)
            {
                tags.Add($"{instrument.Name} {tag.Key}={tag.Value}");
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => measured.AddOrUpdate(instrument.Name + ".count", 1, (_, n) => n + 1));
        listener.Start();

        var device = await RegisterDeviceAsync();
        var machine = AuthorizationTable.Unique("OTEL_M");
        var edgeTrace = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var traceParent = $"00-{edgeTrace.TraceId}-{edgeTrace.SpanId}-01";
        using var host = fixture.Factory.Client();
        using var response = await host.PostAsync("Ingest", IngestInvocations.Create(
        [
            new HubEvent(device, IngestInvocations.Telemetry(machine, 1, 3), "otel-1", new Dictionary<string, string> { ["traceparent"] = traceParent }),
            new HubEvent(device, IngestInvocations.Telemetry(machine, 4, 2), "otel-2"),
            new HubEvent(device, "{not telemetry", "otel-3"),
        ]));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        tracing.ForceFlush();
        listener.RecordObservableInstruments();
        var spans = ended.Spans.ToArray();

        var batch = Assert.Single(spans, s => s.OperationName == "ingest batch"
            && ((string[]?)s.GetTagItem("pdm.device_ids"))?.Contains(device) == true);
        Assert.Equal(new[] { "otel-1", "otel-2", "otel-3" }, (string[]?)batch.GetTagItem("pdm.message_ids"));
        Assert.Equal(3, batch.GetTagItem("messaging.batch.message_count"));
        Assert.Contains(batch.Links, link => link.Context.TraceId == edgeTrace.TraceId && link.Context.SpanId == edgeTrace.SpanId);
        var children = spans.Where(s => s.ParentSpanId == batch.SpanId).Select(s => s.OperationName).ToList();
        Assert.Contains("ingest decode", children);
        Assert.Contains("ingest store", children);
        var store = spans.Single(s => s.ParentSpanId == batch.SpanId && s.OperationName == "ingest store");
        Assert.Contains(spans, s => s.ParentSpanId == store.SpanId && s.OperationName == "ingest score");

        // 5 samples of 2 sensors; one message is not telemetry.
        Assert.Equal(3, measured.GetValueOrDefault("pdm.ingest.events"));
        Assert.Equal(10, measured.GetValueOrDefault("pdm.ingest.readings"));
        Assert.Equal(5, measured.GetValueOrDefault("pdm.ingest.samples.scored"));
        Assert.Equal(1, measured.GetValueOrDefault("pdm.ingest.rejects"));
        Assert.Contains("pdm.ingest.rejects reason=validation", tags);
        Assert.Equal(1, measured.GetValueOrDefault("pdm.ingest.batch.duration.count"));
        Assert.Equal(1, measured.GetValueOrDefault("pdm.ingest.scoring.duration.count"));
    }

    [Fact]
    public async Task The_message_id_the_edge_sends_is_in_the_ingest_log_scope_of_that_message()
    {
        var logs = new RecordingLoggerProvider();
        var app = fixture.CreateFactory(
            new Dictionary<string, string>(ApiFixture.GenerousLimits) { ["Logging__LogLevel__Pdm.Ingest"] = "Debug" },
            web => web.ConfigureLogging(logging => logging.AddProvider(logs)));
        var device = await RegisterDeviceAsync();
        var machine = AuthorizationTable.Unique("OTEL_E");

        // The edge's forwarder publishes one queued reading; a recorder stands in for the broker.
        var directory = Directory.CreateTempSubdirectory("pdm-otel-");
        var mqtt = new PublishRecorder();
        using (var edgeTracing = Sdk.CreateTracerProviderBuilder().AddSource(EdgeTelemetry.Name).Build())
        await using (var queue = DiskQueue.Open(new DiskQueueOptions { Directory = directory.FullName }))
        {
            await new QueueSink(queue).WriteAsync(new SourceReading(machine, DateTimeOffset.UtcNow, [new SensorValue("temperature", 41)]),
                CancellationToken.None);
            var forwarder = new TelemetryForwarder(queue, mqtt, IotHubTopics.DeviceEvents(device, new Dictionary<string, string>
            {
                [IotHubSystemProperties.ContentType] = "application/json",
            }), device);
            using var stop = new CancellationTokenSource();
            var running = forwarder.RunAsync(stop.Token);
            await mqtt.FirstPublished.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await stop.CancelAsync();
            await running.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        directory.Delete(recursive: true);
        var published = await mqtt.FirstPublished.Task;

        // The dev host's path: topic → device event (system and application properties) → Event Hubs invocation.
        Assert.True(IotHubTopics.TryParseEvents(published.Topic, out var topic));
        var messageId = topic.SystemProperties["message-id"];
        Assert.Matches("^[0-9a-f]{32}$", messageId);
        var traceParent = topic.ApplicationProperties["traceparent"];
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(traceParent, "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"), traceParent);
        var deviceEvent = new DeviceEvent
        {
            DeviceId = topic.DeviceId,
            Body = published.Payload,
            SystemProperties = topic.SystemProperties,
            ApplicationProperties = topic.ApplicationProperties,
        };
        var binding = new EventHubTriggerBinding { Name = "events", EventHubName = "iothub", ConsumerGroup = "$Default", Binary = false };
        var input = EventHubPayload.Build(binding, [new PartitionEvent
        {
            Event = deviceEvent, PartitionId = "0", SequenceNumber = 1, Offset = 0, EnqueuedTimeUtc = DateTime.UtcNow,
        }]);
        using var host = app.Client();
        using var content = new ByteArrayContent(FunctionInvoker.Serialize(input, "Ingest", DateTime.UtcNow, Guid.NewGuid(), null));
        content.Headers.ContentType = new("application/json");
        using var response = await host.PostAsync("Ingest", content);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var decoded = Assert.Single(logs.Entries, e => e.EventId == 4112 && e.Scope.GetValueOrDefault("DeviceId") as string == device);
        Assert.Equal(messageId, decoded.Scope["MessageId"]);
        Assert.Contains("1 samples to store", decoded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_is_exported_unless_a_variable_names_where()
    {
        using var none = Build(new Dictionary<string, string?>());
        Assert.Null(none.Services.GetService<TracerProvider>());
        Assert.False(TelemetryExport.From(Configuration([])).Any);

        var azure = TelemetryExport.From(Configuration(new() { [TelemetryExport.AzureMonitorVariable] = "InstrumentationKey=00000000-0000-0000-0000-000000000000" }));
        Assert.Equal(new TelemetryExport(false, "InstrumentationKey=00000000-0000-0000-0000-000000000000"), azure);
    }

    [Fact]
    public async Task With_OTEL_EXPORTER_OTLP_ENDPOINT_set_spans_of_our_sources_go_there()
    {
        using var collector = new HttpListener();
        var port = FreePort();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = collector.GetContextAsync();

        using var app = Build(new Dictionary<string, string?>
        {
            [TelemetryExport.OtlpEndpointVariable] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        await app.StartAsync();
        var tracing = app.Services.GetRequiredService<TracerProvider>();
        using (var activity = IngestActivities.Source.StartActivity("otlp check"))
        {
            Assert.NotNull(activity);
        }
        tracing.ForceFlush(10_000);
        var request = await received.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("POST", request.Request.HttpMethod);
        Assert.Equal("/v1/traces", request.Request.Url!.AbsolutePath);
        request.Response.StatusCode = 200;
        request.Response.Close();
        await app.StopAsync();
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddPdmTelemetry("pdm-test");
        return builder.Build();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task<string> RegisterDeviceAsync()
    {
        var deviceId = AuthorizationTable.Unique("otel");
        using var admin = fixture.Factory.Client(fixture.Keys["admin"]);
        using var response = await admin.PostAsJsonAsync("api/v1/devices", new { deviceId });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return deviceId;
    }

    /// <summary>Takes the forwarder's publishes as the broker would (PUBACK at once) and keeps the first.</summary>
    private sealed class SpanRecorder : BaseProcessor<Activity>
    {
        public ConcurrentQueue<Activity> Spans { get; } = new();

        public override void OnEnd(Activity data) => Spans.Enqueue(data);
    }

    private sealed class PublishRecorder : IMqttClient
    {
        private readonly System.Threading.Channels.Channel<MqttMessage> _none = System.Threading.Channels.Channel.CreateUnbounded<MqttMessage>();

        public TaskCompletionSource<MqttMessage> FirstPublished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool IsConnected => true;
        public System.Threading.Channels.ChannelReader<MqttMessage> Messages => _none.Reader;
        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task SubscribeAsync(string topicFilter, int qos, CancellationToken cancellationToken) => Task.CompletedTask;
        public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public Task PublishAsync(MqttMessage message, CancellationToken cancellationToken)
        {
            FirstPublished.TrySetResult(message with { Payload = message.Payload.ToArray() });
            return Task.CompletedTask;
        }
    }
}

/// <summary>Keeps every log entry with the scope values in force when it was written.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    internal sealed record LogEntry(string Category, int EventId, string Message, IReadOnlyDictionary<string, object?> Scope);

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>();
            owner._scopes.ForEachScope((value, values) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, item) in pairs)
                    {
                        values[key] = item;
                    }
                }
            }, scope);
            owner.Entries.Enqueue(new LogEntry(category, eventId.Id, formatter(state, exception), scope));
        }
    }
}
