using System.Runtime.InteropServices;
using Pdm.Modbus;

namespace Pdm.Simulator.Plc;

/// <summary>
/// The slave side of Debian's libmodbus5 (3.1.6) that <see cref="ModbusServer"/> uses (register mapping, listen,
/// accept, receive, reply); contexts, sockets and error texts come from the client binding in Pdm.Modbus. Functions that
/// fail return -1 (or null) and leave the reason in errno, captured with SetLastError.
/// </summary>
internal static unsafe partial class LibModbusSlave
{
    private const string Lib = "libmodbus.so.5";

    /// <summary>Largest request a server receives: TCP adds the 7-byte MBAP header, RTU the address and CRC.</summary>
    public const int TcpMaxAduLength = 260;
    public const int RtuMaxAduLength = 256;

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
}

/// <summary>An errno that turns into libmodbus' text only when printed, so a disabled log level costs nothing.</summary>
internal readonly record struct ModbusErrno(int Value)
{
    public override string ToString() => $"{LibModbus.Describe(Value)} (errno {Value})";
}
