using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pdm.LocalStack.Tests;

public sealed class FreePortTests
{
    [Fact]
    public void Picks_distinct_bindable_ports_below_the_kernels_ephemeral_range()
    {
        int ephemeralLow = int.Parse(
            File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '])[0],
            CultureInfo.InvariantCulture);

        var ports = Enumerable.Range(0, 50).Select(_ => FreePort.Pick()).ToList();

        // Distinct within one process: a server may not have bound its port yet when the next is picked.
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, 10_000, ephemeralLow - 1));
        foreach (int port in ports.Take(5))
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        }
    }
}
