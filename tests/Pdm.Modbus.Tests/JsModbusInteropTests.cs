using System.Globalization;
using System.Text.Json.Nodes;

namespace Pdm.Modbus.Tests;

/// <summary>The values the jsmodbus peer serves: every type in every word and byte order, and some bits.</summary>
public sealed class JsModbusPeerFixture : IAsyncLifetime
{
    private static readonly (ModbusDataType Type, double Value, string Json)[] Samples =
    [
        (ModbusDataType.Bool, 1, "true"),
        (ModbusDataType.Int16, -12345, "-12345"),
        (ModbusDataType.UInt16, 54321, "54321"),
        (ModbusDataType.Int32, -123456789, "-123456789"),
        (ModbusDataType.UInt32, 3_000_000_000, "3000000000"),
        (ModbusDataType.Float32, (float)123.456, "123.456"),
        (ModbusDataType.Int64, -1_234_567_890_123_456, "\"-1234567890123456\""),
        (ModbusDataType.UInt64, 18_000_000_000_000_000_000, "\"18000000000000000000\""),
        (ModbusDataType.Float64, -98765.4321, "-98765.4321"),
    ];

    private JsModbusPeer? _peer;

    public JsModbusPeer Peer => _peer ?? throw new InvalidOperationException("peer not started");

    /// <summary>Points with the engineering value each must read as.</summary>
    public List<(ModbusPoint Point, double Expected)> Cases { get; } = [];

    public static readonly (int Address, bool Value)[] Coils = [(10, true), (11, false), (13, true), (900, true)];

    public static readonly (int Address, bool Value)[] DiscreteInputs = [(0, true), (1, true), (2, false), (7, true)];

    public async Task InitializeAsync()
    {
        var registers = new JsonArray();
        var index = 0;
        foreach (var (type, value, json) in Samples)
        {
            foreach (var wordOrder in Enum.GetValues<WordOrder>())
            {
                foreach (var byteOrder in Enum.GetValues<ByteOrder>())
                {
                    // Holding registers 4 apart plus a gap of 2; input registers packed, with scale and offset.
                    var holding = new ModbusPoint
                    {
                        Sensor = $"h_{type}_{wordOrder}_{byteOrder}",
                        Table = ModbusTable.HoldingRegisters,
                        Address = 1000 + (6 * index),
                        Type = type,
                        WordOrder = wordOrder,
                        ByteOrder = byteOrder,
                    };
                    var input = holding with
                    {
                        Sensor = $"i_{type}_{wordOrder}_{byteOrder}",
                        Table = ModbusTable.InputRegisters,
                        Address = 3000 + (4 * index),
                        Scale = 0.5,
                        Offset = -3,
                    };
                    Cases.Add((holding, value));
                    Cases.Add((input, (value * 0.5) - 3));
                    registers.Add(Register("holding", holding, json));
                    registers.Add(Register("input", input, json));
                    index++;
                }
            }
        }

        var bits = new JsonArray();
        foreach (var (address, value) in Coils)
        {
            bits.Add(new JsonObject { ["table"] = "coils", ["address"] = address, ["value"] = value });
        }
        foreach (var (address, value) in DiscreteInputs)
        {
            bits.Add(new JsonObject { ["table"] = "discrete", ["address"] = address, ["value"] = value });
        }

        _peer = await JsModbusPeer.StartAsync(new JsonObject { ["registers"] = registers, ["bits"] = bits });
    }

    public async Task DisposeAsync()
    {
        if (_peer is not null)
        {
            await _peer.DisposeAsync();
        }
    }

    private static JsonObject Register(string table, ModbusPoint point, string json) => new()
    {
        ["table"] = table,
        ["address"] = point.Address,
        ["type"] = point.Type.ToString(),
        ["wordOrder"] = point.WordOrder.ToString(),
        ["byteOrder"] = point.ByteOrder.ToString(),
        ["value"] = JsonNode.Parse(json),
    };
}

/// <summary>Our client and codec against an independent Modbus TCP server (jsmodbus in node).</summary>
[Trait("Category", "Integration")]
public class JsModbusInteropTests(JsModbusPeerFixture fixture) : IClassFixture<JsModbusPeerFixture>
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(5);

    private ModbusClient Connect()
    {
        var client = new ModbusClient(fixture.Peer.Endpoint, unitId: 1, TimeSpan.FromSeconds(2));
        client.Connect();
        return client;
    }

    [Fact]
    public void Every_type_word_order_and_byte_order_encoded_by_node_decodes_to_its_value()
    {
        using var client = Connect();
        var plan = ModbusReadPlan.Create([.. fixture.Cases.Select(c => c.Point)]);
        Assert.True(plan.IsValid, string.Join("; ", plan.Problems));
        var readings = new List<ModbusReading>();

        new ModbusDeviceReader(client, plan.Plan!).Read(readings);

        var actual = readings.ToDictionary(r => r.Sensor, r => r.Value);
        Assert.Equal(fixture.Cases.Count, actual.Count);
        Assert.All(fixture.Cases, c => Assert.True(c.Expected.Equals(actual[c.Point.Sensor]),
            $"{c.Point.Sensor}: expected {c.Expected.ToString("R", CultureInfo.InvariantCulture)}, read {actual[c.Point.Sensor].ToString("R", CultureInfo.InvariantCulture)}"));
        // Several requests: 36 holding points 6 registers apart do not fit in one read of 125.
        Assert.True(plan.Plan!.Requests.Count(r => r.Table == ModbusTable.HoldingRegisters) >= 2);
    }

    [Fact]
    public void Coils_and_discrete_inputs_set_by_node_read_back_bit_by_bit()
    {
        using var client = Connect();
        var coils = new bool[4];
        var inputs = new bool[8];

        client.ReadBits(ModbusTable.Coils, 10, coils);
        client.ReadBits(ModbusTable.DiscreteInputs, 0, inputs);
        var far = new bool[1];
        client.ReadBits(ModbusTable.Coils, 900, far);

        Assert.Equal([true, false, false, true], coils);
        Assert.Equal([true, true, false, false, false, false, false, true], inputs);
        Assert.True(far[0]);
    }

    [Fact]
    public async Task Register_writes_arrive_at_node_single_and_multiple()
    {
        using var client = Connect();

        client.WriteRegisters(40000, [0xBEEF]);
        Assert.Equal("write holding 40000 1 beef", await fixture.Peer.WaitForLineAsync("write holding 40000 ", LineTimeout));

        client.WriteRegisters(40010, [1, 0x8000, 0xFFFF]);
        Assert.Equal("write holding 40010 3 0001 8000 ffff", await fixture.Peer.WaitForLineAsync("write holding 40010 ", LineTimeout));

        var readBack = new ushort[3];
        client.ReadRegisters(ModbusTable.HoldingRegisters, 40010, readBack);
        Assert.Equal([1, 0x8000, 0xFFFF], readBack);
    }

    [Fact]
    public async Task A_float_encoded_by_our_codec_arrives_at_node_in_the_known_layout()
    {
        using var client = Connect();
        var point = new ModbusPoint
        {
            Sensor = "setpoint", Table = ModbusTable.HoldingRegisters, Address = 41000,
            Type = ModbusDataType.Float32, WordOrder = WordOrder.LowFirst,
        };
        var registers = new ushort[2];

        ModbusValueCodec.Encode(123.456, point, registers);
        client.WriteRegisters(point.Address, registers);

        Assert.Equal("write holding 41000 2 e979 42f6", await fixture.Peer.WaitForLineAsync("write holding 41000 ", LineTimeout));
    }

    [Fact]
    public async Task Coil_writes_arrive_at_node_single_and_multiple()
    {
        using var client = Connect();

        client.WriteCoils(300, [true]);
        Assert.Equal("write coils 300 1 1", await fixture.Peer.WaitForLineAsync("write coils 300 ", LineTimeout));

        client.WriteCoils(310, [true, false, true, true, false, false, false, false, true]);
        Assert.Equal("write coils 310 9 101100001", await fixture.Peer.WaitForLineAsync("write coils 310 ", LineTimeout));
    }
}
