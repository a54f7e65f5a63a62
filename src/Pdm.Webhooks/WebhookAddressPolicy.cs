using System.Net;
using System.Net.Sockets;

namespace Pdm.Webhooks;

/// <summary>
/// Which addresses a webhook may connect to: public unicast only. Loopback is allowed only when the tenant's
/// development setting says so; private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), unspecified,
/// multicast and reserved ranges never are, nor IPv6 forms that embed such an IPv4 address.
/// </summary>
public static class WebhookAddressPolicy
{
    private static readonly (IPNetwork Network, string Reason)[] BlockedV4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "unspecified ('this network')"),
        (IPNetwork.Parse("10.0.0.0/8"), "private"),
        (IPNetwork.Parse("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local (cloud metadata lives at 169.254.169.254)"),
        (IPNetwork.Parse("172.16.0.0/12"), "private"),
        (IPNetwork.Parse("192.0.0.0/24"), "reserved (IETF protocol assignments)"),
        (IPNetwork.Parse("192.0.2.0/24"), "reserved (documentation)"),
        (IPNetwork.Parse("192.168.0.0/16"), "private"),
        (IPNetwork.Parse("198.18.0.0/15"), "reserved (benchmarking)"),
        (IPNetwork.Parse("198.51.100.0/24"), "reserved (documentation)"),
        (IPNetwork.Parse("203.0.113.0/24"), "reserved (documentation)"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved (including broadcast)"),
    ];

    private static readonly IPNetwork LoopbackV4 = IPNetwork.Parse("127.0.0.0/8");

    private static readonly (IPNetwork Network, string Reason)[] BlockedV6 =
    [
        (IPNetwork.Parse("fc00::/7"), "private (unique local)"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fec0::/10"), "site-local (deprecated, private)"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
        (IPNetwork.Parse("2001:db8::/32"), "reserved (documentation)"),
        (IPNetwork.Parse("100::/64"), "reserved (discard)"),
    ];

    // IPv6 ranges whose last 32 bits are an IPv4 address that the packet may end up at (IPv4-mapped ones are
    // asked for by IsIPv4MappedToIPv6: IPNetwork.Contains does not match them).
    private static readonly IPNetwork[] EmbeddingV4 =
    [
        IPNetwork.Parse("::/96"), // IPv4-compatible (deprecated)
        IPNetwork.Parse("64:ff9b::/96"), // NAT64
    ];

    /// <summary>Why <paramref name="address"/> is refused, or null when a webhook may connect to it.</summary>
    public static string? RefusalReason(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6Loopback))
            {
                return allowLoopback ? null : "loopback";
            }
            if (address.Equals(IPAddress.IPv6Any))
            {
                return "unspecified";
            }
            if (address.IsIPv4MappedToIPv6 || EmbeddingV4.Any(n => n.Contains(address)))
            {
                var embedded = new IPAddress(address.GetAddressBytes()[12..]);
                var reason = RefusalReason(embedded, allowLoopback);
                return reason is null ? null : $"{reason} (IPv4 {embedded} inside IPv6)";
            }
            foreach (var (network, reason) in BlockedV6)
            {
                if (network.Contains(address))
                {
                    return reason;
                }
            }
            return null;
        }
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return $"not an IP address ({address.AddressFamily})";
        }
        if (LoopbackV4.Contains(address))
        {
            return allowLoopback ? null : "loopback";
        }
        foreach (var (network, reason) in BlockedV4)
        {
            if (network.Contains(address))
            {
                return reason;
            }
        }
        return null;
    }
}
