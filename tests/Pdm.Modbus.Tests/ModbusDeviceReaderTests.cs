namespace Pdm.Modbus.Tests;

public class ModbusDeviceReaderTests
{
    /// <summary>A device in memory: register n holds n + 1000, bit n is set when n is odd; records the requests.</summary>
    private sealed class FakeDevice : IModbusClient
    {
        public List<(ModbusTable Table, int Address, int Count)> Requests { get; } = new(16);

        public ModbusTable? FailOn { get; set; }

        public ModbusEndpoint Endpoint { get; } = new ModbusTcpEndpoint("fake", 502);

        public int UnitId => 1;

        public bool IsConnected => true;

        public void Connect()
        {
        }

        public void Close()
        {
        }

        public void ReadRegisters(ModbusTable table, int address, Span<ushort> destination)
        {
            Record(table, address, destination.Length);
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = (ushort)(address + i + 1000);
            }
        }

        public void ReadBits(ModbusTable table, int address, Span<bool> destination)
        {
            Record(table, address, destination.Length);
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = (address + i) % 2 == 1;
            }
        }

        public void WriteRegisters(int address, ReadOnlySpan<ushort> values) => throw new NotSupportedException();

        public void WriteCoils(int address, ReadOnlySpan<bool> values) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private void Record(ModbusTable table, int address, int count)
        {
            if (Requests.Count < Requests.Capacity)
            {
                Requests.Add((table, address, count));
            }
            if (table == FailOn)
            {
                throw new ModbusException("device gone", 110);
            }
        }
    }

    private static readonly ModbusPoint[] Points =
    [
        new() { Sensor = "speed", Table = ModbusTable.HoldingRegisters, Address = 12 },
        new() { Sensor = "temperature", Table = ModbusTable.HoldingRegisters, Address = 10, Type = ModbusDataType.Int16, Scale = 0.1, Offset = -100 },
        new() { Sensor = "far", Table = ModbusTable.HoldingRegisters, Address = 500 },
        new() { Sensor = "running", Table = ModbusTable.Coils, Address = 7, Type = ModbusDataType.Bool },
        new() { Sensor = "alarm", Table = ModbusTable.DiscreteInputs, Address = 4, Type = ModbusDataType.Bool },
        new() { Sensor = "energy", Table = ModbusTable.InputRegisters, Address = 0, Type = ModbusDataType.UInt32 },
    ];

    private static ModbusDeviceReader Reader(FakeDevice device) =>
        new(device, ModbusReadPlan.Create(Points).Plan!);

    [Fact]
    public void A_poll_sends_the_planned_requests_and_decodes_every_point()
    {
        var device = new FakeDevice();
        var readings = new List<ModbusReading>();

        Reader(device).Read(readings);

        Assert.Equal(
        [
            (ModbusTable.HoldingRegisters, 10, 3),
            (ModbusTable.HoldingRegisters, 500, 1),
            (ModbusTable.InputRegisters, 0, 2),
            (ModbusTable.Coils, 7, 1),
            (ModbusTable.DiscreteInputs, 4, 1),
        ], device.Requests);
        Assert.Equal(
        [
            ("temperature", (1010 * 0.1) - 100),
            ("speed", 1012),
            ("far", 1500),
            ("energy", (1000 * 65536) + 1001),
            ("running", 1),
            ("alarm", 0),
        ], readings.Select(r => (r.Sensor, r.Value)));
    }

    [Fact]
    public void A_failed_request_adds_no_reading()
    {
        var device = new FakeDevice { FailOn = ModbusTable.Coils };
        var readings = new List<ModbusReading>();

        Assert.Throws<ModbusException>(() => Reader(device).Read(readings));

        Assert.Empty(readings);
    }

    [Fact]
    public void Polls_after_the_first_allocate_nothing()
    {
        var device = new FakeDevice();
        var reader = Reader(device);
        var readings = new List<ModbusReading>(Points.Length);
        reader.Read(readings); // warm up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            readings.Clear();
            reader.Read(readings);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(Points.Length, readings.Count);
    }
}
