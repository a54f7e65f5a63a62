namespace Pdm.Modbus;

/// <summary>
/// A connection to one Modbus device (one unit id). Calls block until the device answers or the response timeout
/// passes. Not thread-safe: one device is polled from one thread. Every failure throws <see cref="ModbusException"/>;
/// reconnecting is the caller's decision (<see cref="Close"/>, then <see cref="Connect"/>).
/// </summary>
public interface IModbusClient : IDisposable
{
    ModbusEndpoint Endpoint { get; }

    /// <summary>Modbus unit (slave) id the requests are addressed to, 0-247 (255 for TCP devices that ignore it).</summary>
    int UnitId { get; }

    /// <summary>True between a successful <see cref="Connect"/> and <see cref="Close"/>; a broken link stays "connected" until closed.</summary>
    bool IsConnected { get; }

    /// <summary>Opens the TCP connection or serial port.</summary>
    void Connect();

    /// <summary>Closes the connection; <see cref="Connect"/> may be called again afterwards.</summary>
    void Close();

    /// <summary>Reads <c>destination.Length</c> (1-125) holding or input registers starting at <paramref name="address"/>.</summary>
    void ReadRegisters(ModbusTable table, int address, Span<ushort> destination);

    /// <summary>Reads <c>destination.Length</c> (1-2000) coils or discrete inputs starting at <paramref name="address"/>.</summary>
    void ReadBits(ModbusTable table, int address, Span<bool> destination);

    /// <summary>Writes 1-123 holding registers (function 6 for one, 16 for several).</summary>
    void WriteRegisters(int address, ReadOnlySpan<ushort> values);

    /// <summary>Writes 1-1968 coils (function 5 for one, 15 for several).</summary>
    void WriteCoils(int address, ReadOnlySpan<bool> values);
}
