namespace Pdm.Modbus;

/// <summary>The four Modbus data tables.</summary>
public enum ModbusTable
{
    /// <summary>Read-write 16-bit registers (function 3).</summary>
    HoldingRegisters,
    /// <summary>Read-only 16-bit registers (function 4).</summary>
    InputRegisters,
    /// <summary>Read-write bits (function 1).</summary>
    Coils,
    /// <summary>Read-only bits (function 2).</summary>
    DiscreteInputs,
}

/// <summary>How a value is laid out in consecutive registers (or one bit for the bit tables).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name",
    Justification = "The members name the wire types, as device register maps and configuration files do.")]
public enum ModbusDataType
{
    Bool,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Float32,
    Int64,
    UInt64,
    Float64,
}

/// <summary>Order of the 16-bit words of a multi-register value.</summary>
public enum WordOrder
{
    /// <summary>Most significant word at the lowest address (Modbus convention, "ABCD").</summary>
    HighFirst,
    /// <summary>Least significant word at the lowest address ("CDAB", common on some PLCs).</summary>
    LowFirst,
}

/// <summary>Order of the two bytes inside each register.</summary>
public enum ByteOrder
{
    /// <summary>High byte first, as the Modbus specification says.</summary>
    HighFirst,
    /// <summary>Bytes swapped inside each register ("BADC"/"DCBA" layouts).</summary>
    LowFirst,
}

/// <summary>One value to read from a device: where it is, how it is encoded, and what it means.</summary>
public sealed record ModbusPoint
{
    /// <summary>Sensor name the value is reported under (from the sensor catalog, or a custom snake_case name).</summary>
    public required string Sensor { get; init; }

    public required ModbusTable Table { get; init; }

    /// <summary>Zero-based protocol address of the first register or bit (register 40001 is holding address 0).</summary>
    public required int Address { get; init; }

    /// <summary>Data type; bit tables only allow <see cref="ModbusDataType.Bool"/>.</summary>
    public ModbusDataType Type { get; init; } = ModbusDataType.UInt16;

    public WordOrder WordOrder { get; init; } = WordOrder.HighFirst;

    public ByteOrder ByteOrder { get; init; } = ByteOrder.HighFirst;

    /// <summary>Engineering value = raw × <see cref="Scale"/> + <see cref="Offset"/>.</summary>
    public double Scale { get; init; } = 1;

    public double Offset { get; init; }

    /// <summary>Unit of the engineering value when it is not the catalog unit (converted before sending).</summary>
    public string? Unit { get; init; }
}

/// <summary>Where a Modbus device is reached.</summary>
public abstract record ModbusEndpoint;

/// <summary>Modbus TCP: a host and port (502 by default).</summary>
public sealed record ModbusTcpEndpoint(string Host, int Port = 502) : ModbusEndpoint
{
    /// <summary>"tcp://host:port", as error messages and logs name it.</summary>
    public override string ToString() => $"tcp://{Host}:{Port}";
}

/// <summary>Modbus RTU over a serial line; 19200 8E1 is the specification's default.</summary>
public sealed record ModbusRtuEndpoint(string SerialPort, int BaudRate = 19200, char Parity = 'E', int DataBits = 8, int StopBits = 1)
    : ModbusEndpoint
{
    /// <summary>"rtu:/dev/ttyUSB0 19200 8E1", as error messages and logs name it.</summary>
    public override string ToString() => $"rtu:{SerialPort} {BaudRate} {DataBits}{Parity}{StopBits}";
}
