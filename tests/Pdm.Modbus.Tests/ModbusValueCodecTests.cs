namespace Pdm.Modbus.Tests;

public class ModbusValueCodecTests
{
    private static readonly (ModbusDataType Type, double Value)[] Samples =
    [
        (ModbusDataType.Bool, 1),
        (ModbusDataType.Bool, 0),
        (ModbusDataType.Int16, -12345),
        (ModbusDataType.Int16, short.MinValue),
        (ModbusDataType.UInt16, 54321),
        (ModbusDataType.UInt16, ushort.MaxValue),
        (ModbusDataType.Int32, -123456789),
        (ModbusDataType.Int32, int.MinValue),
        (ModbusDataType.UInt32, 3_000_000_000),
        (ModbusDataType.Float32, (float)123.456),
        (ModbusDataType.Float32, float.NegativeInfinity),
        (ModbusDataType.Int64, -1_234_567_890_123_456),
        (ModbusDataType.UInt64, 18_000_000_000_000_000_000),
        (ModbusDataType.Float64, -98765.4321),
        (ModbusDataType.Float64, double.Epsilon),
    ];

    public static TheoryData<ModbusDataType, double, WordOrder, ByteOrder> EveryTypeAndOrder()
    {
        var data = new TheoryData<ModbusDataType, double, WordOrder, ByteOrder>();
        foreach (var (type, value) in Samples)
        {
            foreach (var wordOrder in Enum.GetValues<WordOrder>())
            {
                foreach (var byteOrder in Enum.GetValues<ByteOrder>())
                {
                    data.Add(type, value, wordOrder, byteOrder);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryTypeAndOrder))]
    public void Every_type_round_trips_in_every_word_and_byte_order(ModbusDataType type, double value, WordOrder wordOrder, ByteOrder byteOrder)
    {
        Span<ushort> registers = stackalloc ushort[ModbusValueCodec.RegisterCount(type)];

        ModbusValueCodec.EncodeRaw(value, type, wordOrder, byteOrder, registers);

        Assert.Equal(value, ModbusValueCodec.DecodeRaw(registers, type, wordOrder, byteOrder));
    }

    [Theory]
    [InlineData(WordOrder.HighFirst, ByteOrder.HighFirst, 0x42F6, 0xE979)] // ABCD
    [InlineData(WordOrder.LowFirst, ByteOrder.HighFirst, 0xE979, 0x42F6)] // CDAB
    [InlineData(WordOrder.HighFirst, ByteOrder.LowFirst, 0xF642, 0x79E9)] // BADC
    [InlineData(WordOrder.LowFirst, ByteOrder.LowFirst, 0x79E9, 0xF642)] // DCBA
    public void Float32_123_456_has_the_known_register_layouts(WordOrder wordOrder, ByteOrder byteOrder, int first, int second)
    {
        ushort[] expected = [(ushort)first, (ushort)second];
        var registers = new ushort[2];

        ModbusValueCodec.EncodeRaw(123.456, ModbusDataType.Float32, wordOrder, byteOrder, registers);

        Assert.Equal(expected, registers);
        Assert.Equal((float)123.456, ModbusValueCodec.DecodeRaw(expected, ModbusDataType.Float32, wordOrder, byteOrder));
    }

    [Fact]
    public void Sixty_four_bit_values_reverse_all_four_words_when_low_word_comes_first()
    {
        // 0x0102030405060708: words 0102 0304 0506 0708 from most to least significant.
        ushort[] highFirst = [0x0102, 0x0304, 0x0506, 0x0708];
        ushort[] lowFirst = [0x0708, 0x0506, 0x0304, 0x0102];
        ushort[] lowFirstSwapped = [0x0807, 0x0605, 0x0403, 0x0201];

        Assert.Equal(0x0102030405060708, ModbusValueCodec.DecodeRaw(highFirst, ModbusDataType.UInt64, WordOrder.HighFirst, ByteOrder.HighFirst));
        Assert.Equal(0x0102030405060708, ModbusValueCodec.DecodeRaw(lowFirst, ModbusDataType.UInt64, WordOrder.LowFirst, ByteOrder.HighFirst));
        Assert.Equal(0x0102030405060708, ModbusValueCodec.DecodeRaw(lowFirstSwapped, ModbusDataType.Int64, WordOrder.LowFirst, ByteOrder.LowFirst));
    }

    [Theory]
    [InlineData(new ushort[] { 0xFFFF }, ModbusDataType.Int16, -1)]
    [InlineData(new ushort[] { 0xFFFF }, ModbusDataType.UInt16, 65535)]
    [InlineData(new ushort[] { 0xFFFF, 0xFFFE }, ModbusDataType.Int32, -2)]
    [InlineData(new ushort[] { 0xFFFF, 0xFFFE }, ModbusDataType.UInt32, 4294967294)]
    [InlineData(new ushort[] { 0x4000, 0, 0, 0 }, ModbusDataType.Float64, 2)]
    [InlineData(new ushort[] { 0x0007 }, ModbusDataType.Bool, 1)]
    public void Signedness_follows_the_type(ushort[] registers, ModbusDataType type, double expected) =>
        Assert.Equal(expected, ModbusValueCodec.DecodeRaw(registers, type, WordOrder.HighFirst, ByteOrder.HighFirst));

    [Fact]
    public void Decode_applies_scale_then_offset()
    {
        var point = new ModbusPoint { Sensor = "temperature", Table = ModbusTable.InputRegisters, Address = 0, Type = ModbusDataType.Int16, Scale = 0.1, Offset = -40 };

        Assert.Equal((-125 * 0.1) - 40, ModbusValueCodec.Decode([unchecked((ushort)-125)], point));
        Assert.Equal(-40 + 0.5, ModbusValueCodec.DecodeBit(true, point with { Table = ModbusTable.Coils, Type = ModbusDataType.Bool, Scale = 0.5 }));
    }

    [Fact]
    public void Encode_removes_offset_and_scale_and_rounds_to_the_nearest_integer()
    {
        var point = new ModbusPoint { Sensor = "pressure", Table = ModbusTable.HoldingRegisters, Address = 0, Type = ModbusDataType.UInt16, Scale = 0.01, Offset = 1 };
        var registers = new ushort[1];

        ModbusValueCodec.Encode(13.3456, point, registers);

        Assert.Equal(1235, registers[0]); // (13.3456 - 1) / 0.01 = 1234.56
        Assert.Equal(13.35, ModbusValueCodec.Decode(registers, point), 9);
    }

    [Theory]
    [InlineData(ModbusDataType.UInt16, -1)]
    [InlineData(ModbusDataType.UInt16, 65536)]
    [InlineData(ModbusDataType.Int16, 32768)]
    [InlineData(ModbusDataType.UInt32, 4294967296)]
    [InlineData(ModbusDataType.Int64, 9.3e18)]
    [InlineData(ModbusDataType.UInt64, 1.9e19)]
    [InlineData(ModbusDataType.Int32, double.NaN)]
    public void Integer_values_out_of_range_are_rejected_with_the_sensor_name(ModbusDataType type, double value)
    {
        var point = new ModbusPoint { Sensor = "speed", Table = ModbusTable.HoldingRegisters, Address = 0, Type = type };
        var registers = new ushort[4];

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ModbusValueCodec.Encode(value, point, registers));

        Assert.Contains("Sensor 'speed'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"does not fit {type}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_few_registers_are_an_argument_error()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ModbusValueCodec.DecodeRaw(new ushort[3], ModbusDataType.Float64, WordOrder.HighFirst, ByteOrder.HighFirst));

        Assert.Contains("Float64 needs 4 registers, got 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_and_encoding_allocate_nothing()
    {
        ushort[] registers = [0x42F6, 0xE979, 0, 0];
        var point = new ModbusPoint { Sensor = "x", Table = ModbusTable.HoldingRegisters, Address = 0, Type = ModbusDataType.Float32, Scale = 2 };
        var sum = ModbusValueCodec.Decode(registers, point); // warm up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            sum += ModbusValueCodec.Decode(registers, point);
            ModbusValueCodec.Encode(i, point, registers.AsSpan(2));
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(double.IsFinite(sum));
    }
}
