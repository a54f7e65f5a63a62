using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pdm.LocalStack;

/// <summary>
/// Picks TCP ports on 127.0.0.1 that nothing listens on, so local servers never clash. The port is chosen below the
/// kernel's ephemeral range: a port the kernel hands out (bind to 0) is just as likely to be handed to the next
/// outgoing connection between the pick and the server's own bind, which once failed a whole test fixture with
/// EADDRINUSE. Below that range only another explicit bind can take it.
/// </summary>
public static class FreePort
{
    private const int LowestPort = 10_000;
    private const int Attempts = 200;
    private static readonly HashSet<int> Picked = [];

    public static int Pick()
    {
        int end = EphemeralRangeStart();
        for (int attempt = 0; attempt < Attempts && end > LowestPort; attempt++)
        {
            int port = Random.Shared.Next(LowestPort, end);
            lock (Picked)
            {
                // Never the same port twice in one process: the first server may not have bound it yet.
                if (Picked.Contains(port) || !CanBind(port))
                {
                    continue;
                }

                Picked.Add(port);
                return port;
            }
        }

        return KernelChosenPort();
    }

    private static int EphemeralRangeStart()
    {
        const int LinuxDefault = 32_768;
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                ? low : LinuxDefault;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return LinuxDefault; // Not Linux, or not readable.
        }
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int KernelChosenPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
