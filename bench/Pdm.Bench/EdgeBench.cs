using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pdm.Edge.Queue;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Modbus;
using Pdm.Simulator.Plc;

namespace Pdm.Bench;

/// <summary>
/// `pdm bench edge`: the edge module as its own process polls N Modbus TCP slaves × M registers at 1 Hz and sends to
/// Mosquitto; measured are its CPU and memory (from /proc) and the latency from poll to arrival at a subscriber.
/// Then the store-and-forward queue's enqueue and dequeue+acknowledge rates on this disk.
/// </summary>
internal static class EdgeBench
{
    private const string GatewayId = "bench-gateway";

    public static Command Create()
    {
        var devices = new Option<int>("--devices") { Description = "Simulated Modbus TCP devices", DefaultValueFactory = _ => 100 };
        var registers = new Option<int>("--registers") { Description = "Holding registers per device (uint16, one sensor each)", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "Seconds before measuring", DefaultValueFactory = _ => 10 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds measured", DefaultValueFactory = _ => 30 };
        var queueMessages = new Option<int>("--queue-messages") { Description = "Messages through the queue benchmark", DefaultValueFactory = _ => 200_000 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("edge", "Edge module CPU, memory and latency polling Modbus devices at 1 Hz; queue throughput")
        {
            devices, registers, warmup, seconds, queueMessages, json,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(devices), parse.GetValue(registers),
            TimeSpan.FromSeconds(parse.GetValue(warmup)), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(queueMessages),
            parse.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int deviceCount, int registerCount, TimeSpan warmup, TimeSpan measured, int queueMessages, bool json,
        CancellationToken cancellationToken)
    {
        var state = Path.Combine(BenchPaths.RepoRoot, ".pdm", $"bench-edge-{Environment.ProcessId}");
        using var logs = new FileLoggerProvider(Path.Combine(state, "bench.log"));
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        var servers = new List<ModbusServer>();
        try
        {
            Console.WriteLine($"Starting Mosquitto and {deviceCount} Modbus TCP devices with {registerCount} registers each...");
            await using var broker = new MosquittoBroker(Path.Combine(state, "mosquitto"), FreePort.Pick());
            await broker.StartAsync(cancellationToken);
            var registry = new MosquittoDeviceRegistry(new MosquittoDeviceRegistryOptions
            {
                PasswordFile = broker.PasswordFile, AclFile = broker.AclFile, PidFile = broker.PidFile,
            }, loggerFactory.CreateLogger<MosquittoDeviceRegistry>());
            var gateway = await registry.CreateOrUpdateAsync(GatewayId, cancellationToken);

            var points = Enumerable.Range(0, registerCount).Select(i => new ModbusPoint
            {
                Sensor = string.Create(CultureInfo.InvariantCulture, $"r{i:D3}"), Table = ModbusTable.HoldingRegisters, Address = i,
            }).ToList();
            for (var i = 0; i < deviceCount; i++)
            {
                servers.Add(ModbusServer.StartTcp("127.0.0.1", 0));
            }
            using var stopUpdates = new CancellationTokenSource();
            var updates = UpdateRegistersAsync(servers, registerCount, stopUpdates.Token);

            await using var subscriber = new MqttNetClient(new MqttOptions
            {
                Host = "127.0.0.1", Port = broker.ServicePort, ClientId = MosquittoBroker.PlatformClientId("bench-subscriber"), Username = broker.ServiceUser, Password = broker.ServicePassword,
            }, loggerFactory.CreateLogger<MqttNetClient>());
            await subscriber.ConnectAsync(cancellationToken);
            await subscriber.SubscribeAsync(IotHubTopics.DeviceEvents(GatewayId) + "#", 1, cancellationToken);
            var arrivals = new LatencyRecorder();
            var receive = arrivals.RecordAsync(subscriber.Messages, stopUpdates.Token);

            var configFile = Path.Combine(state, "edge-config.json");
            await File.WriteAllTextAsync(configFile, PlcFleet.EdgeConfigurationJson(GatewayId, TimeSpan.FromSeconds(1),
                servers.Select((s, i) => (string.Create(CultureInfo.InvariantCulture, $"DEV_{i:D3}"), s.Endpoint, (IReadOnlyList<ModbusPoint>)points))),
                cancellationToken);
            Console.WriteLine($"Edge module: polling at 1 Hz; {warmup.TotalSeconds:N0} s warm-up, then {measured.TotalSeconds:N0} s measured...");
            await using var module = EdgeModuleProcess.Start(BenchPaths.EdgeModule, Path.Combine(state, "edge"), configFile, broker.Port, GatewayId, gateway.PrimaryKey,
                Path.Combine(state, "edge-module.log"), TimeSpan.FromSeconds(10));
            await Task.Delay(warmup, cancellationToken);
            if (module.HasExited)
            {
                throw new InvalidOperationException($"The edge module exited; see {Path.Combine(state, "edge-module.log")}.");
            }

            var cpuBefore = module.CpuTime;
            var wall = Stopwatch.StartNew();
            arrivals.Start();
            await Task.Delay(measured, cancellationToken);
            var window = arrivals.Stop();
            var cpu = module.CpuTime - cpuBefore;
            wall.Stop();
            var rss = module.ResidentMb;
            var peakRss = module.PeakResidentMb;
            await stopUpdates.CancelAsync();
            await Task.WhenAll(updates, receive).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            Console.WriteLine($"Queue: {queueMessages:N0} messages of 200 bytes through a DiskQueue on this disk...");
            var queue = QueueThroughput.Measure(state, queueMessages, 200);

            var result = new EdgeBenchResult
            {
                Devices = deviceCount,
                Registers = registerCount,
                CpuPctOfCore = Math.Round(100 * cpu.TotalSeconds / wall.Elapsed.TotalSeconds, 2),
                RssMb = Math.Round(rss, 1),
                PeakRssMb = Math.Round(peakRss, 1),
                P50Ms = Math.Round(window.Percentile(0.50), 1),
                P99Ms = Math.Round(window.Percentile(0.99), 1),
                ValuesPerS = Math.Round(window.Values / wall.Elapsed.TotalSeconds),
                ExpectedValuesPerS = deviceCount * registerCount,
                QueueEnqueuePerS = Math.Round(queue.EnqueuePerSecond),
                QueueDequeueAckPerS = Math.Round(queue.DequeueAcknowledgePerSecond),
                QueueMsgsPerS = Math.Round(Math.Min(queue.EnqueuePerSecond, queue.DequeueAcknowledgePerSecond)),
            };
            Console.WriteLine($"""

                Devices × registers : {deviceCount} × {registerCount} at 1 Hz; {result.ValuesPerS:N0} values/s arrived (expected {result.ExpectedValuesPerS:N0})
                Edge module CPU     : {result.CpuPctOfCore:N2} % of one core (target < 10 %)
                Edge module memory  : {result.RssMb:N0} MB RSS, peak {result.PeakRssMb:N0} MB (target < 150 MB)
                Poll → broker       : p50 {result.P50Ms:N1} ms, p99 {result.P99Ms:N1} ms (subscriber arrival minus poll timestamp)
                Queue               : {result.QueueEnqueuePerS:N0} enqueued/s, {result.QueueDequeueAckPerS:N0} dequeued+acknowledged/s (target ≥ 20,000)
                """);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Options));
            }
            return 0;
        }
        finally
        {
            servers.ForEach(s => s.Dispose());
            BenchCommand.TryDelete(state);
        }
    }

    /// <summary>Every register changes once a second, like a live process image.</summary>
    private static async Task UpdateRegistersAsync(List<ModbusServer> servers, int registerCount, CancellationToken cancellationToken)
    {
        var values = new ushort[registerCount];
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var tick = 0;
        try
        {
            do
            {
                for (var s = 0; s < servers.Count; s++)
                {
                    for (var r = 0; r < registerCount; r++)
                    {
                        values[r] = (ushort)(tick + s + r);
                    }
                    servers[s].SetRegisters(ModbusTable.HoldingRegisters, 0, values);
                }
                tick++;
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Benchmark over.
        }
    }

    /// <summary>Arrival time minus each machine sample's poll timestamp, for the samples that arrive while recording.</summary>
    private sealed class LatencyRecorder
    {
        private readonly Lock _gate = new();
        private List<double>? _latencies;
        private long _values;

        public void Start()
        {
            lock (_gate)
            {
                _latencies = [];
                _values = 0;
            }
        }

        public LatencyWindow Stop()
        {
            lock (_gate)
            {
                var window = new LatencyWindow([.. _latencies ?? []], _values);
                _latencies = null;
                return window;
            }
        }

        public async Task RecordAsync(System.Threading.Channels.ChannelReader<MqttMessage> messages, CancellationToken cancellationToken)
        {
            await foreach (var message in messages.ReadAllAsync(cancellationToken))
            {
                var arrived = DateTimeOffset.UtcNow;
                using var document = JsonDocument.Parse(message.Payload);
                lock (_gate)
                {
                    if (_latencies is null)
                    {
                        continue;
                    }
                    foreach (var machine in document.RootElement.GetProperty("machines").EnumerateArray())
                    {
                        _latencies.Add((arrived - machine.GetProperty("timestamp").GetDateTimeOffset()).TotalMilliseconds);
                        _values += machine.GetProperty("values").EnumerateObject().Count();
                    }
                }
            }
        }
    }

    private sealed record LatencyWindow(List<double> Latencies, long Values)
    {
        public double Percentile(double p)
        {
            if (Latencies.Count == 0)
            {
                return double.NaN;
            }
            Latencies.Sort();
            return Latencies[(int)Math.Min(Latencies.Count - 1, Math.Ceiling(p * Latencies.Count) - 1)];
        }
    }
}

internal sealed record EdgeBenchResult
{
    public int Devices { get; init; }
    public int Registers { get; init; }
    public double CpuPctOfCore { get; init; }
    public double RssMb { get; init; }
    public double PeakRssMb { get; init; }
    public double P50Ms { get; init; }
    public double P99Ms { get; init; }
    public double ValuesPerS { get; init; }
    public int ExpectedValuesPerS { get; init; }
    public double QueueEnqueuePerS { get; init; }
    public double QueueDequeueAckPerS { get; init; }
    public double QueueMsgsPerS { get; init; }
}
