using System.Globalization;

namespace Pdm.Modbus;

/// <summary>
/// Turns registers into values and back for every <see cref="ModbusDataType"/>, with both word and byte orders.
/// A register holds its two bytes high byte first (as the wire carries them); <see cref="ByteOrder.LowFirst"/> swaps
/// the bytes inside each register, <see cref="WordOrder.LowFirst"/> puts the least significant register first.
/// So the float32 layouts ABCD, CDAB, BADC and DCBA are (HighFirst, HighFirst), (LowFirst, HighFirst),
/// (HighFirst, LowFirst) and (LowFirst, LowFirst) as (word order, byte order). Pure and allocation-free.
/// </summary>
public static class ModbusValueCodec
{
    /// <summary>Registers a value of <paramref name="type"/> occupies (a Bool kept in a register takes one; nonzero is true).</summary>
    public static int RegisterCount(ModbusDataType type) => type switch
    {
        ModbusDataType.Bool or ModbusDataType.Int16 or ModbusDataType.UInt16 => 1,
        ModbusDataType.Int32 or ModbusDataType.UInt32 or ModbusDataType.Float32 => 2,
        ModbusDataType.Int64 or ModbusDataType.UInt64 or ModbusDataType.Float64 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown Modbus data type."),
    };

    /// <summary>The raw value in the first registers of <paramref name="registers"/>, before scale and offset.</summary>
    /// <remarks>64-bit integers beyond ±2^53 lose their lowest bits in a double.</remarks>
    public static double DecodeRaw(ReadOnlySpan<ushort> registers, ModbusDataType type, WordOrder wordOrder, ByteOrder byteOrder)
    {
        var count = RegisterCount(type);
        if (registers.Length < count)
        {
            throw new ArgumentException($"{type} needs {count} registers, got {registers.Length}.", nameof(registers));
        }
        var bits = Combine(registers[..count], wordOrder, byteOrder);
        return type switch
        {
            ModbusDataType.Bool => bits != 0 ? 1 : 0,
            ModbusDataType.Int16 => (short)bits,
            ModbusDataType.UInt16 => (ushort)bits,
            ModbusDataType.Int32 => (int)bits,
            ModbusDataType.UInt32 => (uint)bits,
            ModbusDataType.Float32 => BitConverter.UInt32BitsToSingle((uint)bits),
            ModbusDataType.Int64 => (long)bits,
            ModbusDataType.UInt64 => bits,
            _ => BitConverter.UInt64BitsToDouble(bits),
        };
    }

    /// <summary>The engineering value of <paramref name="point"/>: raw × scale + offset.</summary>
    public static double Decode(ReadOnlySpan<ushort> registers, ModbusPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return (DecodeRaw(registers, point.Type, point.WordOrder, point.ByteOrder) * point.Scale) + point.Offset;
    }

    /// <summary>The engineering value of a bit: 1 or 0, × scale + offset.</summary>
    public static double DecodeBit(bool bit, ModbusPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return ((bit ? 1 : 0) * point.Scale) + point.Offset;
    }

    /// <summary>
    /// Writes <paramref name="raw"/> into the first <see cref="RegisterCount"/> registers of <paramref name="destination"/>.
    /// Integer types round to the nearest integer (halves away from zero).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not finite or does not fit the integer type.</exception>
    public static void EncodeRaw(double raw, ModbusDataType type, WordOrder wordOrder, ByteOrder byteOrder, Span<ushort> destination)
    {
        var count = RegisterCount(type);
        if (destination.Length < count)
        {
            throw new ArgumentException($"{type} needs {count} registers, got {destination.Length}.", nameof(destination));
        }
        var bits = type switch
        {
            ModbusDataType.Bool => raw != 0 ? 1UL : 0UL,
            ModbusDataType.Float32 => BitConverter.SingleToUInt32Bits((float)raw),
            ModbusDataType.Float64 => BitConverter.DoubleToUInt64Bits(raw),
            ModbusDataType.Int16 => (ushort)(short)Integer(raw, type, short.MinValue, short.MaxValue),
            ModbusDataType.UInt16 => (ulong)Integer(raw, type, 0, ushort.MaxValue),
            ModbusDataType.Int32 => (uint)(int)Integer(raw, type, int.MinValue, int.MaxValue),
            ModbusDataType.UInt32 => (ulong)Integer(raw, type, 0, uint.MaxValue),
            ModbusDataType.Int64 => (ulong)(long)Integer(raw, type, long.MinValue, 9223372036854775807.0),
            _ => (ulong)Integer(raw, type, 0, 18446744073709551615.0),
        };
        Split(bits, wordOrder, byteOrder, destination[..count]);
    }

    /// <summary>Writes the raw value behind <paramref name="engineering"/> ((value − offset) / scale) for <paramref name="point"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The raw value does not fit the point's type; the message names the sensor.</exception>
    public static void Encode(double engineering, ModbusPoint point, Span<ushort> destination)
    {
        ArgumentNullException.ThrowIfNull(point);
        var raw = (engineering - point.Offset) / point.Scale;
        try
        {
            EncodeRaw(raw, point.Type, point.WordOrder, point.ByteOrder, destination);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new ArgumentOutOfRangeException(nameof(engineering), engineering, $"Sensor '{point.Sensor}': {ex.Message}");
        }
    }

    private static double Integer(double raw, ModbusDataType type, double min, double max)
    {
        var rounded = Math.Round(raw, MidpointRounding.AwayFromZero);
        // max of the 64-bit types is not exact in a double (it rounds up to 2^63 / 2^64), hence "<" there.
        var tooLarge = type is ModbusDataType.Int64 or ModbusDataType.UInt64 ? rounded >= max : rounded > max;
        if (!double.IsFinite(raw) || rounded < min || tooLarge)
        {
            throw new ArgumentOutOfRangeException(nameof(raw), raw,
                string.Create(CultureInfo.InvariantCulture, $"Raw value {raw} does not fit {type} ({min}..{max})."));
        }
        return rounded;
    }

    /// <summary>The registers as one big-endian number: most significant word first after applying the orders.</summary>
    private static ulong Combine(ReadOnlySpan<ushort> registers, WordOrder wordOrder, ByteOrder byteOrder)
    {
        var bits = 0UL;
        for (var i = 0; i < registers.Length; i++)
        {
            var word = registers[wordOrder == WordOrder.HighFirst ? i : registers.Length - 1 - i];
            if (byteOrder == ByteOrder.LowFirst)
            {
                word = Swap(word);
            }
            bits = (bits << 16) | word;
        }
        return bits;
    }

    private static void Split(ulong bits, WordOrder wordOrder, ByteOrder byteOrder, Span<ushort> destination)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            var word = (ushort)bits;
            bits >>= 16;
            if (byteOrder == ByteOrder.LowFirst)
            {
                word = Swap(word);
            }
            destination[wordOrder == WordOrder.HighFirst ? i : destination.Length - 1 - i] = word;
        }
    }

    private static ushort Swap(ushort word) => (ushort)((word << 8) | (word >> 8));
}
