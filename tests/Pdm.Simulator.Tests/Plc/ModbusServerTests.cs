using Pdm.Testing;
using System.Diagnostics;
using Pdm.LocalStack;
using Pdm.Modbus;
using Pdm.Simulator.Plc;

namespace Pdm.Simulator.Tests.Plc;

/// <summary>Our server with our client, over TCP and over RTU through a socat serial pair.</summary>
[Trait("Category", "Integration")]
public class ModbusServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private static readonly ModbusPoint Temperature = new()
    {
        Sensor = "temperature", Table = ModbusTable.InputRegisters, Address = 100,
        Type = ModbusDataType.Float32, WordOrder = WordOrder.LowFirst,
    };

    private static readonly ModbusPoint Speed = new()
    {
        Sensor = "speed", Table = ModbusTable.HoldingRegisters, Address = 7, Type = ModbusDataType.Int32, Scale = 0.1,
    };

    private static readonly ModbusPoint Running = new()
    {
        Sensor = "running", Table = ModbusTable.DiscreteInputs, Address = 3, Type = ModbusDataType.Bool,
    };

    private static ModbusClient Connect(ModbusEndpoint endpoint, int unitId = 1, int timeoutMilliseconds = 1000)
    {
        var client = new ModbusClient(endpoint, unitId, TimeSpan.FromMilliseconds(timeoutMilliseconds));
        client.Connect();
        return client;
    }

    private static void WaitUntil(Func<bool> condition, string what) =>
        Assert.True(SpinWait.SpinUntil(condition, Patience), $"Timed out waiting until {what}.");

    [Fact]
    public void Typed_values_written_on_the_server_are_read_by_a_client()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        server.Write(Temperature, 123.456);
        server.Write(Speed, -1234.5);
        server.Write(Running, 1);
        using var client = Connect(server.Endpoint);

        var raw = new ushort[2];
        client.ReadRegisters(ModbusTable.InputRegisters, 100, raw);
        var readings = new List<ModbusReading>();
        new ModbusDeviceReader(client, ModbusReadPlan.Create([Temperature, Speed, Running]).Plan!).Read(readings);

        Assert.Equal([0xE979, 0x42F6], raw); // float32 123.456 in CDAB
        Assert.Equal(
            [("speed", -1234.5), ("temperature", Math.Round((double)(float)123.456, 6)), ("running", 1.0)],
            readings.Select(r => (r.Sensor, Math.Round(r.Value, 6))));
    }

    [Fact]
    public void Client_writes_land_in_the_servers_tables()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        using var client = Connect(server.Endpoint);

        client.WriteRegisters(20, [11, 22, 33]);
        client.WriteRegisters(65535, [9]);
        client.WriteCoils(5, [true, false, true]);
        var registers = new ushort[3];
        var last = new ushort[1];
        var coils = new bool[3];
        server.GetRegisters(ModbusTable.HoldingRegisters, 20, registers);
        server.GetRegisters(ModbusTable.HoldingRegisters, 65535, last);
        server.GetBits(ModbusTable.Coils, 5, coils);

        Assert.Equal([11, 22, 33], registers);
        Assert.Equal([9], last);
        Assert.Equal([true, false, true], coils);
        Assert.Equal(0.0, server.Read(Speed));
    }

    [Fact]
    public async Task Several_clients_are_served_at_once()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        server.SetRegisters(ModbusTable.InputRegisters, 0, [1, 2, 3, 4]);
        var clients = Enumerable.Range(0, 4).Select(_ => Connect(server.Endpoint)).ToList();
        try
        {
            WaitUntil(() => server.ClientCount == 4, "the server has 4 clients");

            await Task.WhenAll(clients.Select((client, n) => Task.Run(() =>
            {
                var registers = new ushort[4];
                for (var i = 0; i < 50; i++)
                {
                    client.WriteRegisters(100 * n, [(ushort)i, (ushort)n]);
                    client.ReadRegisters(ModbusTable.HoldingRegisters, 100 * n, registers.AsSpan(0, 2));
                    Assert.Equal([(ushort)i, (ushort)n], registers[..2]);
                    client.ReadRegisters(ModbusTable.InputRegisters, 0, registers);
                    Assert.Equal([1, 2, 3, 4], registers);
                }
            })));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        WaitUntil(() => server.ClientCount == 0, "all clients have left");
    }

    [Fact]
    public void Disposing_stops_promptly_with_clients_connected_and_they_see_the_connection_end()
    {
        var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        using var first = Connect(server.Endpoint);
        using var second = Connect(server.Endpoint);
        first.ReadRegisters(ModbusTable.HoldingRegisters, 0, new ushort[1]);
        WaitUntil(() => server.ClientCount == 2, "the server has 2 clients");

        var stopwatch = Stopwatch.StartNew();
        server.Dispose();
        stopwatch.Stop();

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"Dispose took {stopwatch.Elapsed}");
        var error = Assert.Throws<ModbusException>(() => second.ReadRegisters(ModbusTable.HoldingRegisters, 0, new ushort[1]));
        Assert.Contains(server.Endpoint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => server.SetRegisters(ModbusTable.HoldingRegisters, 0, [1]));
    }

    [Fact]
    public void Port_zero_binds_a_free_port_that_clients_reach()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", 0);
        using var client = Connect(server.Endpoint);

        var endpoint = Assert.IsType<ModbusTcpEndpoint>(server.Endpoint);
        Assert.NotEqual(0, endpoint.Port);
        client.ReadBits(ModbusTable.Coils, 0, new bool[16]);
    }

    [Fact]
    public void A_port_in_use_is_refused_with_the_reason()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        var port = ((ModbusTcpEndpoint)server.Endpoint).Port;

        var error = Assert.Throws<ModbusException>(() => ModbusServer.StartTcp("127.0.0.1", port));

        Assert.Equal(98, error.Errno);
        Assert.Contains($"Cannot listen at tcp://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Setting_values_outside_the_tables_is_an_argument_error()
    {
        using var server = ModbusServer.StartTcp("127.0.0.1", 0);

        Assert.Throws<ArgumentOutOfRangeException>(() => server.SetRegisters(ModbusTable.HoldingRegisters, 65535, [1, 2]));
        Assert.Throws<ArgumentException>(() => server.SetBits(ModbusTable.HoldingRegisters, 0, [true]));
        Assert.Throws<ArgumentOutOfRangeException>(() => server.Write(Speed with { Type = ModbusDataType.UInt16 }, -5));
    }

    [Fact]
    public async Task Rtu_over_a_serial_pair_answers_its_unit_only()
    {
        await using var serial = await SocatPair.StartAsync();
        using var server = ModbusServer.StartRtu(new ModbusRtuEndpoint(serial.PortA, 115200, 'N', 8, 1), unitId: 7);
        server.Write(Temperature, -40.25);
        server.SetBits(ModbusTable.Coils, 0, [false, true]);
        var line = new ModbusRtuEndpoint(serial.PortB, 115200, 'N', 8, 1);

        using (var client = Connect(line, unitId: 7))
        {
            var readings = new List<ModbusReading>();
            new ModbusDeviceReader(client, ModbusReadPlan.Create([Temperature]).Plan!).Read(readings);
            client.WriteRegisters(10, [4321]);
            client.WriteCoils(0, [true]);
            var coils = new bool[2];
            client.ReadBits(ModbusTable.Coils, 0, coils);

            Assert.Equal(-40.25, Assert.Single(readings).Value);
            Assert.Equal([true, true], coils);
        }
        var written = new ushort[1];
        server.GetRegisters(ModbusTable.HoldingRegisters, 10, written);
        Assert.Equal([4321], written);

        using var otherUnit = Connect(line, unitId: 8, timeoutMilliseconds: 300);
        var error = Assert.Throws<ModbusException>(() => otherUnit.ReadRegisters(ModbusTable.HoldingRegisters, 10, new ushort[1]));
        Assert.True(error.IsTimeout, error.Message);
        Assert.Contains($"unit 8 at rtu:{serial.PortB} 115200 8N1", error.Message, StringComparison.Ordinal);
    }
}
