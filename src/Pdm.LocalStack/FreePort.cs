using System.Net;
using System.Net.Sockets;

namespace Pdm.LocalStack;

/// <summary>Picks TCP ports on 127.0.0.1 that nothing listens on, so local servers never clash.</summary>
public static class FreePort
{
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
