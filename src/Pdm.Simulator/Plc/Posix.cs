using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Pdm.Simulator.Plc;

/// <summary>
/// The few libc calls the server needs around libmodbus: waiting on its sockets together with a wake-up pipe (so a
/// stop does not depend on a client sending something), closing the listening socket and reading its bound port.
/// </summary>
internal static unsafe partial class Posix
{
    private const string Lib = "libc";

    public const short PollIn = 0x001;
    public const short PollErr = 0x008;
    public const short PollHup = 0x010;
    public const short PollNval = 0x020;

    private const int OCloexec = 0x80000;
    private const int EIntr = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    private static partial int PollNative(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetSockName(int fd, byte* address, ref uint length);

    /// <summary>
    /// Waits until <paramref name="fd"/> has something (data, end of stream or an error), the wake pipe fires, or the
    /// timeout passes (-1: no timeout). A negative <paramref name="fd"/> waits for the wake pipe alone.
    /// </summary>
    /// <returns>The socket's poll events; 0 on timeout; -1 when woken to stop.</returns>
    public static int Wait(int fd, int wakeFd, int timeoutMilliseconds)
    {
        var fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = fd, Events = PollIn };
        fds[1] = new PollFd { Fd = wakeFd, Events = PollIn };
        while (true)
        {
            var rc = PollNative(fds, 2, timeoutMilliseconds);
            if (rc >= 0)
            {
                return fds[1].Revents != 0 ? -1 : fds[0].Revents;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EIntr)
            {
                throw new InvalidOperationException($"poll failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }
    }

    /// <summary>A pipe whose read end becomes readable for good once <see cref="Signal"/> writes to it.</summary>
    public static (int Read, int Write) CreatePipe()
    {
        var fds = stackalloc int[2];
        if (Pipe2(fds, OCloexec) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"pipe2 failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        return (fds[0], fds[1]);
    }

    public static void Signal(int writeFd)
    {
        byte one = 1;
        Write(writeFd, &one, 1);
    }

    /// <summary>The local port a socket is bound to (the port sits at the same place in IPv4 and IPv6 addresses).</summary>
    public static int LocalPort(int fd)
    {
        var address = stackalloc byte[128];
        var length = 128u;
        if (GetSockName(fd, address, ref length) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"getsockname failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        return BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(address + 2, 2));
    }
}
