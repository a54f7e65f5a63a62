using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pdm.Edge.Tests.Sources;
using Pdm.LocalStack;
using Pdm.IotHub;
using Pdm.Mqtt;
using Pdm.Modbus;
using Pdm.Simulator.Plc;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Edge.Tests;

/// <summary>The module's runtime against real peers: Modbus TCP and RTU slaves, Mosquitto, a configuration file.</summary>
[Trait("Category", "Integration")]
public sealed class EdgeRuntimeTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("pdm-edge-runtime-").FullName;
    private MosquittoBroker _broker = null!;
    private DeviceIdentity _gateway = null!;
    private IMqttClient _cloud = null!;
    private readonly List<ServiceProvider> _services = [];

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(Wait);
        _broker = new MosquittoBroker(Path.Combine(_directory, "broker"), FreePort.Pick());
        await _broker.StartAsync(timeout.Token);
        var registry = new MosquittoDeviceRegistry(new MosquittoDeviceRegistryOptions
        {
            PasswordFile = _broker.PasswordFile, AclFile = _broker.AclFile, PidFile = _broker.PidFile,
        });
        _gateway = await registry.CreateOrUpdateAsync("runtime-gw", timeout.Token);
        _cloud = MqttNetClient.Create(new MqttOptions
        {
            Host = "127.0.0.1", Port = _broker.ServicePort, ClientId = "pdm-cloud", Username = _broker.ServiceUser, Password = _broker.ServicePassword,
        });
        await _cloud.ConnectAsync(timeout.Token);
        await _cloud.SubscribeAsync(IotHubTopics.AllDeviceEvents, 1, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        foreach (var services in _services)
        {
            await services.DisposeAsync();
        }
        await _cloud.DisposeAsync();
        await _broker.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Tcp_and_rtu_devices_reach_the_broker_as_numbered_telemetry()
    {
        using var tcp = ModbusServer.StartTcp("127.0.0.1", 0);
        tcp.Write(Point("temperature", 0, ModbusDataType.Float32), 61.5);
        await using var serial = await SocatPair.StartAsync();
        using var rtu = ModbusServer.StartRtu(new ModbusRtuEndpoint(serial.PortA, 115200, 'N'), unitId: 7);
        rtu.Write(Point("pressure", 10, ModbusDataType.UInt16, scale: 0.1), 42.0);
        var config = WriteConfig(Device("press", "M_TCP", Tcp(tcp), Register("temperature", 0, "float32")),
            Device("pump", "M_RTU", $$"""{ "serialPort": "{{serial.PortB}}", "baudRate": 115200, "parity": "none" }""", Register("pressure", 10, "uint16", 0.1), rtu: true, unitId: 7));

        await using var runtime = await StartAsync(config);
        var seen = new Dictionary<string, List<MachineSample>>();
        using var timeout = new CancellationTokenSource(Wait);
        while (!(seen.TryGetValue("M_TCP", out var a) && a.Count >= 3 && seen.TryGetValue("M_RTU", out var b) && b.Count >= 3))
        {
            var message = await _cloud.Messages.ReadAsync(timeout.Token);
            var decoded = TelemetryDecoder.Decode(message.Payload.Span, new DecodeContext(_gateway.DeviceId, DateTimeOffset.UtcNow));
            Assert.True(decoded.IsClean, string.Join("; ", decoded.Errors));
            foreach (var sample in decoded.Samples)
            {
                (seen.TryGetValue(sample.MachineId, out var list) ? list : seen[sample.MachineId] = []).Add(sample);
            }
        }

        Assert.Equal([1L, 2L, 3L], seen["M_TCP"].Take(3).Select(s => s.Sequence));
        Assert.Equal([1L, 2L, 3L], seen["M_RTU"].Take(3).Select(s => s.Sequence));
        Assert.Equal(61.5, seen["M_TCP"][0].Values.Single(v => v.Sensor == "temperature").Value);
        Assert.Equal(42.0, seen["M_RTU"][0].Values.Single(v => v.Sensor == "pressure").Value, 6);
        Assert.All(runtime.Sources, s => Assert.Equal(SourceState.Connected, s.State));
    }

    [Fact]
    public async Task A_changed_file_applies_without_a_restart_and_a_malformed_one_keeps_the_last_good_configuration()
    {
        using var first = ModbusServer.StartTcp("127.0.0.1", 0);
        using var second = ModbusServer.StartTcp("127.0.0.1", 0);
        var configFile = WriteConfig(Device("one", "M_ONE", Tcp(first), Register("speed", 0, "uint16")));
        await using var runtime = await StartAsync(configFile);
        await UntilAsync(() => runtime.Sources.Any(s => s is { Name: "one", Reads: > 0 }), "device one read");

        WriteConfig(Device("one", "M_ONE", Tcp(first), Register("speed", 0, "uint16")), Device("two", "M_TWO", Tcp(second), Register("speed", 0, "uint16")));
        await UntilAsync(() => runtime.Sources.Any(s => s is { Name: "two", Reads: > 0 }), "device two added and read");

        await File.WriteAllTextAsync(configFile, """{ "schemaVersion": 1, "gatewayId": "runtime-gw", "modbus": [ { "name": "three" } ] }""");
        await UntilAsync(() => runtime.Configuration.LastError is not null, "the malformed file rejected");
        var rejection = runtime.Configuration.LastError!;
        Assert.Contains(rejection.Errors, e => e.Path.StartsWith("modbus[0]", StringComparison.Ordinal));
        var readsBefore = runtime.Sources.Single(s => s.Name == "two").Reads;
        await UntilAsync(() => runtime.Sources.Single(s => s.Name == "two").Reads > readsBefore + 2, "the last good configuration still polling");
        Assert.Equal(["one", "two"], runtime.Sources.Select(s => s.Name).Order());

        using var status = JsonDocument.Parse(runtime.BuildStatus());
        Assert.Equal("rejected", status.RootElement.GetProperty("config").GetProperty("status").GetString());
        Assert.StartsWith("modbus[0]", status.RootElement.GetProperty("config").GetProperty("errors")[0].GetProperty("path").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_that_does_not_answer_is_reported_and_retried_without_slowing_the_others()
    {
        using var good = ModbusServer.StartTcp("127.0.0.1", 0);
        var nobodyListens = $$"""{ "host": "127.0.0.1", "port": {{FreePort.Pick()}} }""";
        var configFile = WriteConfig(Device("good", "M_GOOD", Tcp(good), Register("speed", 0, "uint16")),
            Device("gone", "M_GONE", nobodyListens, Register("speed", 0, "uint16")));
        await using var runtime = await StartAsync(configFile);

        await UntilAsync(() => runtime.Sources.Any(s => s is { Name: "gone", State: SourceState.Failing, Errors: >= 2 }), "the silent device retried");
        var gone = runtime.Sources.Single(s => s.Name == "gone");
        Assert.Contains("refused", gone.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(gone.LastErrorAt);

        // Polled every 100 ms: about 20 reads in 2 s, whatever the other device does.
        var before = runtime.Sources.Single(s => s.Name == "good").Reads;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var reads = runtime.Sources.Single(s => s.Name == "good").Reads - before;
        Assert.True(reads >= 12, $"only {reads} reads of the answering device in 2 s");
        Assert.Equal(SourceState.Connected, runtime.Sources.Single(s => s.Name == "good").State);
    }

    [Fact]
    public async Task An_http_source_polls_through_the_client_the_host_registers()
    {
        await using var server = new RoutedHttpServer();
        server.Map("/chiller", _ => (200, """{ "load": 12.5 }"""));
        var configFile = Path.Combine(_directory, "edge-config.json");
        await File.WriteAllTextAsync(configFile, $$"""
            { "schemaVersion": 1, "gatewayId": "runtime-gw", "http": [ { "name": "chiller-api", "url": "{{server.Url("/chiller")}}",
              "pollIntervalMs": 100, "machineId": "CHILLER_2", "sensors": { "load": "$.load" } } ] }
            """);
        await using var runtime = await StartAsync(configFile);

        using var timeout = new CancellationTokenSource(Wait);
        var message = await _cloud.Messages.ReadAsync(timeout.Token);
        var decoded = TelemetryDecoder.Decode(message.Payload.Span, new DecodeContext(_gateway.DeviceId, DateTimeOffset.UtcNow));
        Assert.Equal(12.5, decoded.Samples.First(s => s.MachineId == "CHILLER_2").Values.Single(v => v.Sensor == "load").Value);
        Assert.Equal(SourceState.Connected, runtime.Sources.Single(s => s.Name == "chiller-api").State);
    }

    /// <summary>The runtime as the module's host composes it (AddPdmEdge), from the settings the module reads from its environment.</summary>
    private async Task<EdgeRuntime> StartAsync(string configFile)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:DataDirectory"] = Path.Combine(_directory, "data"),
            ["Edge:ConfigurationFile"] = configFile,
            ["Edge:StatusInterval"] = "00:00:01",
            ["Cloud:Mode"] = "Local",
            ["Cloud:LocalPort"] = _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cloud:LocalDeviceId"] = _gateway.DeviceId,
            ["Cloud:LocalPassword"] = _gateway.PrimaryKey,
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddPdmEdge().BuildServiceProvider();
        _services.Add(services);
        var service = services.GetRequiredService<EdgeRuntimeService>();
        await service.StartAsync(CancellationToken.None);
        return service.Runtime!;
    }

    private string WriteConfig(params string[] devices)
    {
        var path = Path.Combine(_directory, "edge-config.json");
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, $$"""
            { "schemaVersion": 1, "gatewayId": "runtime-gw", "defaults": { "pollIntervalMs": 100 }, "modbus": [ {{string.Join(", ", devices)}} ] }
            """);
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static string Device(string name, string machine, string endpoint, string register, bool rtu = false, int unitId = 1) => $$"""
        { "name": "{{name}}", "machineId": "{{machine}}", "{{(rtu ? "rtu" : "tcp")}}": {{endpoint}}, "unitId": {{unitId}}, "registers": [ {{register}} ] }
        """;

    private static string Tcp(ModbusServer server) => $$"""{ "host": "127.0.0.1", "port": {{((ModbusTcpEndpoint)server.Endpoint).Port}} }""";

    private static string Register(string sensor, int address, string type, double scale = 1) =>
        $$"""{ "sensor": "{{sensor}}", "table": "holding", "address": {{address}}, "type": "{{type}}", "scale": {{scale.ToString(System.Globalization.CultureInfo.InvariantCulture)}} }""";

    private static ModbusPoint Point(string sensor, int address, ModbusDataType type, double scale = 1) =>
        new() { Sensor = sensor, Table = ModbusTable.HoldingRegisters, Address = address, Type = type, Scale = scale };

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }
}
