using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pdm.LocalStack;
using Pdm.Simulator.Plc;

namespace Pdm.Modbus.Tests;

/// <summary>Devices that are not there, do not answer or go away fail with a clear ModbusException in time.</summary>
[Trait("Category", "Integration")]
public class UnreachableDeviceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(300);

    [Fact]
    public void A_closed_port_refuses_the_connection()
    {
        var endpoint = new ModbusTcpEndpoint("127.0.0.1", FreePort.Pick());
        using var client = new ModbusClient(endpoint, unitId: 3, Timeout);

        var error = Assert.Throws<ModbusException>(client.Connect);

        Assert.Equal(111, error.Errno);
        Assert.Equal($"Cannot connect to {endpoint} (unit 3): Connection refused (errno 111)", error.Message);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public void A_device_that_accepts_but_never_answers_times_out_with_the_request_named()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = new ModbusTcpEndpoint("127.0.0.1", ((IPEndPoint)silent.LocalEndpoint).Port);
        using var client = new ModbusClient(endpoint, unitId: 1, Timeout);
        client.Connect();

        var stopwatch = Stopwatch.StartNew();
        var error = Assert.Throws<ModbusException>(() => client.ReadRegisters(ModbusTable.InputRegisters, 5, new ushort[10]));
        stopwatch.Stop();

        Assert.True(error.IsTimeout, error.Message);
        Assert.Null(error.ExceptionCode);
        Assert.Equal(
            $"Modbus read input registers (fc 4) of 10 at address 5 from unit 1 at {endpoint} failed: "
            + "no answer within 300 ms, Connection timed out (errno 110)",
            error.Message);
        Assert.InRange(stopwatch.Elapsed, Timeout * 0.9, Timeout + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_server_that_stops_fails_the_next_read_and_refuses_a_reconnect()
    {
        var server = ModbusServer.StartTcp("127.0.0.1", FreePort.Pick());
        using var client = new ModbusClient(server.Endpoint, unitId: 1, Timeout);
        client.Connect();
        client.ReadBits(ModbusTable.Coils, 0, new bool[8]);

        server.Dispose();
        var stopwatch = Stopwatch.StartNew();
        var error = Assert.Throws<ModbusException>(() => client.ReadBits(ModbusTable.Coils, 0, new bool[8]));
        stopwatch.Stop();
        client.Close();
        var reconnect = Assert.Throws<ModbusException>(client.Connect);

        Assert.StartsWith($"Modbus read coils (fc 1) of 8 at address 0 from unit 1 at {server.Endpoint} failed: ", error.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < Timeout + TimeSpan.FromSeconds(1), $"took {stopwatch.Elapsed}");
        Assert.Equal(111, reconnect.Errno);
    }

    [Fact]
    public void Requests_need_a_connection_and_valid_ranges()
    {
        using var client = new ModbusClient(new ModbusTcpEndpoint("127.0.0.1", 1), unitId: 1, Timeout);

        Assert.Throws<InvalidOperationException>(() => client.ReadRegisters(ModbusTable.HoldingRegisters, 0, new ushort[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModbusClient(new ModbusTcpEndpoint("127.0.0.1", 1), unitId: 248));
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(client.Connect);
    }

    [Fact]
    public void An_exception_reply_is_told_apart_from_a_transport_failure()
    {
        var illegalAddress = new ModbusException("device said no", 112345678 + 2);

        Assert.Equal(2, illegalAddress.ExceptionCode);
        Assert.False(illegalAddress.IsTimeout);
    }
}
