using System.Globalization;
using System.Runtime.InteropServices;

namespace Pdm.Modbus;

/// <summary>
/// Modbus TCP or RTU client (master) on libmodbus for one device. Not thread-safe: one device is polled from one
/// thread, which is how the edge module uses it. Failures throw <see cref="ModbusException"/> with the endpoint,
/// unit, function, address, count and reason; the client does not reconnect by itself. After a timeout or a broken
/// connection, <see cref="Close"/> and <see cref="Connect"/> again, so a late answer cannot be taken for the next one.
/// </summary>
public sealed class ModbusClient : IModbusClient
{
    public const int MaxReadRegisters = 125;
    public const int MaxReadBits = 2000;
    public const int MaxWriteRegisters = 123;
    public const int MaxWriteCoils = 1968;

    /// <summary>Response timeout used when none is given.</summary>
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _responseTimeout;
    private IntPtr _ctx;
    private bool _connected;

    /// <param name="endpoint">TCP host and port, or RTU serial line.</param>
    /// <param name="unitId">Unit id 0-247, or 255 (the TCP "no unit" value).</param>
    /// <param name="responseTimeout">How long to wait for each answer (and for a TCP connect); 1 s when null.</param>
    /// <exception cref="ModbusException">libmodbus refused the settings (for example an unknown parity).</exception>
    public ModbusClient(ModbusEndpoint endpoint, int unitId = 1, TimeSpan? responseTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (unitId is < 0 or > 247 and not 255)
        {
            throw new ArgumentOutOfRangeException(nameof(unitId), unitId, "Unit id must be 0-247, or 255 for TCP.");
        }
        _responseTimeout = responseTimeout ?? DefaultResponseTimeout;
        if (_responseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(responseTimeout), responseTimeout, "Response timeout must be positive.");
        }
        Endpoint = endpoint;
        UnitId = unitId;

        _ctx = NewContext(endpoint);
        if (_ctx == IntPtr.Zero)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new ModbusException($"Cannot create a Modbus context for {endpoint}: {LibModbus.Describe(errno)} (errno {errno})", errno);
        }
        var seconds = (uint)_responseTimeout.TotalSeconds;
        var microseconds = (uint)(_responseTimeout - TimeSpan.FromSeconds(seconds)).TotalMicroseconds;
        if (LibModbus.SetSlave(_ctx, unitId) != 0 || LibModbus.SetResponseTimeout(_ctx, seconds, microseconds) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            LibModbus.Free(_ctx);
            _ctx = IntPtr.Zero;
            throw new ModbusException($"Cannot configure unit {unitId} at {endpoint}: {LibModbus.Describe(errno)} (errno {errno})", errno);
        }
    }

    public ModbusEndpoint Endpoint { get; }

    public int UnitId { get; }

    public bool IsConnected => _connected;

    public TimeSpan ResponseTimeout => _responseTimeout;

    public void Connect()
    {
        var ctx = Context();
        if (_connected)
        {
            return;
        }
        if (LibModbus.Connect(ctx) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new ModbusException($"Cannot connect to {Endpoint} (unit {UnitId}): {Reason(errno)}", errno);
        }
        _connected = true;
    }

    public void Close()
    {
        if (_ctx != IntPtr.Zero && _connected)
        {
            LibModbus.Close(_ctx);
        }
        _connected = false;
    }

    public unsafe void ReadRegisters(ModbusTable table, int address, Span<ushort> destination)
    {
        var ctx = ConnectedContext();
        CheckRange(address, destination.Length, MaxReadRegisters);
        int rc;
        fixed (ushort* p = destination)
        {
            rc = table switch
            {
                ModbusTable.HoldingRegisters => LibModbus.ReadRegisters(ctx, address, destination.Length, p),
                ModbusTable.InputRegisters => LibModbus.ReadInputRegisters(ctx, address, destination.Length, p),
                _ => throw new ArgumentException($"{table} holds bits; use {nameof(ReadBits)}.", nameof(table)),
            };
        }
        Check(rc, destination.Length, FunctionName(table), address);
    }

    public unsafe void ReadBits(ModbusTable table, int address, Span<bool> destination)
    {
        var ctx = ConnectedContext();
        CheckRange(address, destination.Length, MaxReadBits);
        // libmodbus stores one byte per bit, 0 or 1: the same layout as a .NET bool.
        var bytes = MemoryMarshal.AsBytes(destination);
        int rc;
        fixed (byte* p = bytes)
        {
            rc = table switch
            {
                ModbusTable.Coils => LibModbus.ReadBits(ctx, address, destination.Length, p),
                ModbusTable.DiscreteInputs => LibModbus.ReadInputBits(ctx, address, destination.Length, p),
                _ => throw new ArgumentException($"{table} holds registers; use {nameof(ReadRegisters)}.", nameof(table)),
            };
        }
        Check(rc, destination.Length, FunctionName(table), address);
    }

    public unsafe void WriteRegisters(int address, ReadOnlySpan<ushort> values)
    {
        var ctx = ConnectedContext();
        CheckRange(address, values.Length, MaxWriteRegisters);
        if (values.Length == 1)
        {
            Check(LibModbus.WriteRegister(ctx, address, values[0]), 1, "write single register (fc 6)", address);
            return;
        }
        fixed (ushort* p = values)
        {
            Check(LibModbus.WriteRegisters(ctx, address, values.Length, p), values.Length, "write multiple registers (fc 16)", address);
        }
    }

    public unsafe void WriteCoils(int address, ReadOnlySpan<bool> values)
    {
        var ctx = ConnectedContext();
        CheckRange(address, values.Length, MaxWriteCoils);
        if (values.Length == 1)
        {
            Check(LibModbus.WriteBit(ctx, address, values[0] ? 1 : 0), 1, "write single coil (fc 5)", address);
            return;
        }
        // A .NET bool is one byte, 0 or 1, which is what libmodbus expects per coil.
        fixed (byte* p = MemoryMarshal.AsBytes(values))
        {
            Check(LibModbus.WriteBits(ctx, address, values.Length, p), values.Length, "write multiple coils (fc 15)", address);
        }
    }

    public void Dispose()
    {
        if (_ctx == IntPtr.Zero)
        {
            return;
        }
        Close();
        LibModbus.Free(_ctx);
        _ctx = IntPtr.Zero;
    }

    public override string ToString() => $"{Endpoint} unit {UnitId}";

    private static IntPtr NewContext(ModbusEndpoint endpoint) => endpoint switch
    {
        ModbusTcpEndpoint tcp => LibModbus.NewTcpPi(tcp.Host, tcp.Port.ToString(CultureInfo.InvariantCulture)),
        ModbusRtuEndpoint rtu => LibModbus.NewRtu(rtu.SerialPort, rtu.BaudRate, (byte)rtu.Parity, rtu.DataBits, rtu.StopBits),
        _ => throw new ArgumentException($"Unknown endpoint kind {endpoint.GetType().Name}.", nameof(endpoint)),
    };

    private static string FunctionName(ModbusTable table) => table switch
    {
        ModbusTable.HoldingRegisters => "read holding registers (fc 3)",
        ModbusTable.InputRegisters => "read input registers (fc 4)",
        ModbusTable.Coils => "read coils (fc 1)",
        _ => "read discrete inputs (fc 2)",
    };

    private static void CheckRange(int address, int count, int maxCount)
    {
        if (count < 1 || count > maxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"One request carries 1-{maxCount} values.");
        }
        if (address < 0 || address + count > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"Address range {address}..{address + count - 1} is outside 0..65535.");
        }
    }

    private void Check(int rc, int count, string function, int address)
    {
        if (rc >= 0)
        {
            return;
        }
        var errno = Marshal.GetLastPInvokeError();
        throw new ModbusException(
            $"Modbus {function} of {count} at address {address} from unit {UnitId} at {Endpoint} failed: {Reason(errno)}", errno);
    }

    private string Reason(int errno)
    {
        var reason = $"{LibModbus.Describe(errno)} (errno {errno})";
        return errno == ModbusException.TimedOut
            ? $"no answer within {_responseTimeout.TotalMilliseconds:0} ms, {reason}"
            : reason;
    }

    private IntPtr Context()
    {
        ObjectDisposedException.ThrowIf(_ctx == IntPtr.Zero, this);
        return _ctx;
    }

    private IntPtr ConnectedContext()
    {
        var ctx = Context();
        if (!_connected)
        {
            throw new InvalidOperationException($"{this} is not connected; call {nameof(Connect)} first.");
        }
        return ctx;
    }
}
