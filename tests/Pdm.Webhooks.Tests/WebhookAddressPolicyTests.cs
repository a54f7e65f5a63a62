using System.Net;

namespace Pdm.Webhooks.Tests;

public sealed class WebhookAddressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.9.10", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.254", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.64.0.1", "carrier-grade NAT")]
    [InlineData("169.254.169.254", "cloud metadata")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("224.0.0.251", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("fc00::1", "unique local")]
    [InlineData("fd12:3456::1", "unique local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)")]
    [InlineData("::ffff:10.0.0.1", "private (IPv4 10.0.0.1 inside IPv6)")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("64:ff9b::a00:1", "private (IPv4 10.0.0.1 inside IPv6)")]
    public void Internal_addresses_are_refused_with_the_reason(string address, string reason)
    {
        var refusal = WebhookAddressPolicy.RefusalReason(IPAddress.Parse(address), allowLoopback: false);
        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("20.50.2.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:93.184.215.14")]
    public void Public_addresses_are_allowed(string address)
    {
        Assert.Null(WebhookAddressPolicy.RefusalReason(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("127.0.0.1", null)]
    [InlineData("::1", null)]
    [InlineData("::ffff:127.0.0.1", null)]
    [InlineData("10.0.0.1", "private")]
    [InlineData("169.254.169.254", "link-local (cloud metadata lives at 169.254.169.254)")]
    public void Allowing_loopback_allows_loopback_only(string address, string? reason)
    {
        Assert.Equal(reason, WebhookAddressPolicy.RefusalReason(IPAddress.Parse(address), allowLoopback: true));
    }
}
