using System.Runtime.InteropServices;

namespace Pdm.Modbus;

/// <summary>
/// The part of Debian's libmodbus5 (3.1.6) that <see cref="ModbusClient"/> uses (the slave side is in the simulator).
/// There is no unversioned <c>libmodbus.so</c> without the -dev package, so the soname is named explicitly. Functions
/// that fail return -1 (or null) and leave the reason in errno, captured with SetLastError.
/// </summary>
internal static unsafe partial class LibModbus
{
    private const string Lib = "libmodbus.so.5";

    /// <summary>libmodbus numbers its own errors from here; base + exception code is a device's exception reply.</summary>
    public const int ErrorBase = 112345678;

    /// <summary>For <see cref="SetErrorRecovery"/>: after a damaged frame, wait and flush the line.</summary>
    public const int ErrorRecoveryProtocol = 4;

    [LibraryImport(Lib, EntryPoint = "modbus_new_tcp_pi", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial IntPtr NewTcpPi(string? node, string service);

    [LibraryImport(Lib, EntryPoint = "modbus_new_rtu", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial IntPtr NewRtu(string device, int baud, byte parity, int dataBits, int stopBits);

    [LibraryImport(Lib, EntryPoint = "modbus_free")]
    public static partial void Free(IntPtr ctx);

    [LibraryImport(Lib, EntryPoint = "modbus_connect", SetLastError = true)]
    public static partial int Connect(IntPtr ctx);

    [LibraryImport(Lib, EntryPoint = "modbus_close")]
    public static partial void Close(IntPtr ctx);

    [LibraryImport(Lib, EntryPoint = "modbus_set_slave", SetLastError = true)]
    public static partial int SetSlave(IntPtr ctx, int slave);

    [LibraryImport(Lib, EntryPoint = "modbus_set_response_timeout", SetLastError = true)]
    public static partial int SetResponseTimeout(IntPtr ctx, uint seconds, uint microseconds);

    [LibraryImport(Lib, EntryPoint = "modbus_set_error_recovery", SetLastError = true)]
    public static partial int SetErrorRecovery(IntPtr ctx, int mode);

    [LibraryImport(Lib, EntryPoint = "modbus_get_socket")]
    public static partial int GetSocket(IntPtr ctx);

    [LibraryImport(Lib, EntryPoint = "modbus_set_socket", SetLastError = true)]
    public static partial int SetSocket(IntPtr ctx, int socket);

    [LibraryImport(Lib, EntryPoint = "modbus_read_registers", SetLastError = true)]
    public static partial int ReadRegisters(IntPtr ctx, int address, int count, ushort* destination);

    [LibraryImport(Lib, EntryPoint = "modbus_read_input_registers", SetLastError = true)]
    public static partial int ReadInputRegisters(IntPtr ctx, int address, int count, ushort* destination);

    /// <summary>Coils; one byte (0 or 1) per bit in <paramref name="destination"/>.</summary>
    [LibraryImport(Lib, EntryPoint = "modbus_read_bits", SetLastError = true)]
    public static partial int ReadBits(IntPtr ctx, int address, int count, byte* destination);

    [LibraryImport(Lib, EntryPoint = "modbus_read_input_bits", SetLastError = true)]
    public static partial int ReadInputBits(IntPtr ctx, int address, int count, byte* destination);

    [LibraryImport(Lib, EntryPoint = "modbus_write_register", SetLastError = true)]
    public static partial int WriteRegister(IntPtr ctx, int address, ushort value);

    [LibraryImport(Lib, EntryPoint = "modbus_write_registers", SetLastError = true)]
    public static partial int WriteRegisters(IntPtr ctx, int address, int count, ushort* source);

    [LibraryImport(Lib, EntryPoint = "modbus_write_bit", SetLastError = true)]
    public static partial int WriteBit(IntPtr ctx, int address, int status);

    [LibraryImport(Lib, EntryPoint = "modbus_write_bits", SetLastError = true)]
    public static partial int WriteBits(IntPtr ctx, int address, int count, byte* source);

    [LibraryImport(Lib, EntryPoint = "modbus_strerror")]
    private static partial IntPtr StrError(int errnum);

    /// <summary>libmodbus' text for an errno value (its own codes or the system's).</summary>
    public static string Describe(int errno) =>
        Marshal.PtrToStringUTF8(StrError(errno)) ?? $"error {errno}";
}
