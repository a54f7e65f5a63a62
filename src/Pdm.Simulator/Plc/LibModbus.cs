using System.Runtime.InteropServices;

namespace Pdm.Simulator.Plc;

/// <summary>
/// The part of Debian's libmodbus5 (3.1.6) that <see cref="ModbusServer"/> uses: the slave side (register mapping,
/// listen, accept, receive, reply), which the edge module's client binding in Pdm.Modbus leaves out. Functions that
/// fail return -1 (or null) and leave the reason in errno, captured with SetLastError.
/// </summary>
internal static unsafe partial class LibModbus
{
    private const string Lib = "libmodbus.so.5";

    /// <summary>Largest request a server receives: TCP adds the 7-byte MBAP header, RTU the address and CRC.</summary>
    public const int TcpMaxAduLength = 260;
    public const int RtuMaxAduLength = 256;

    /// <summary>For <see cref="SetErrorRecovery"/>: after a damaged frame, wait and flush the line.</summary>
    public const int ErrorRecoveryProtocol = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct Mapping
    {
        public int NbBits;
        public int StartBits;
        public int NbInputBits;
        public int StartInputBits;
        public int NbInputRegisters;
        public int StartInputRegisters;
        public int NbRegisters;
        public int StartRegisters;
        public byte* TabBits;
        public byte* TabInputBits;
        public ushort* TabInputRegisters;
        public ushort* TabRegisters;
    }

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

    [LibraryImport(Lib, EntryPoint = "modbus_set_error_recovery", SetLastError = true)]
    public static partial int SetErrorRecovery(IntPtr ctx, int mode);

    [LibraryImport(Lib, EntryPoint = "modbus_get_socket")]
    public static partial int GetSocket(IntPtr ctx);

    [LibraryImport(Lib, EntryPoint = "modbus_set_socket", SetLastError = true)]
    public static partial int SetSocket(IntPtr ctx, int socket);

    [LibraryImport(Lib, EntryPoint = "modbus_mapping_new_start_address", SetLastError = true)]
    public static partial Mapping* MappingNew(int startBits, int bits, int startInputBits, int inputBits,
        int startRegisters, int registers, int startInputRegisters, int inputRegisters);

    [LibraryImport(Lib, EntryPoint = "modbus_mapping_free")]
    public static partial void MappingFree(Mapping* mapping);

    /// <summary>Binds and listens; returns the listening socket, which <see cref="Free"/> does not close.</summary>
    [LibraryImport(Lib, EntryPoint = "modbus_tcp_pi_listen", SetLastError = true)]
    public static partial int TcpPiListen(IntPtr ctx, int backlog);

    /// <summary>Accepts one connection and makes it the context's socket; returns it.</summary>
    [LibraryImport(Lib, EntryPoint = "modbus_tcp_pi_accept", SetLastError = true)]
    public static partial int TcpPiAccept(IntPtr ctx, ref int listenSocket);

    /// <summary>Waits for one request (blocking without limit until its first byte); returns its length, 0 when it was for another unit.</summary>
    [LibraryImport(Lib, EntryPoint = "modbus_receive", SetLastError = true)]
    public static partial int Receive(IntPtr ctx, byte* request);

    [LibraryImport(Lib, EntryPoint = "modbus_reply", SetLastError = true)]
    public static partial int Reply(IntPtr ctx, byte* request, int length, Mapping* mapping);

    [LibraryImport(Lib, EntryPoint = "modbus_strerror")]
    private static partial IntPtr StrError(int errnum);

    /// <summary>libmodbus' text for an errno value (its own codes or the system's).</summary>
    public static string Describe(int errno) =>
        Marshal.PtrToStringUTF8(StrError(errno)) ?? $"error {errno}";
}

/// <summary>An errno that turns into libmodbus' text only when printed, so a disabled log level costs nothing.</summary>
internal readonly record struct ModbusErrno(int Value)
{
    public override string ToString() => $"{LibModbus.Describe(Value)} (errno {Value})";
}
