using System.Net;
using System.Net.Sockets;

namespace Pdm.Webhooks.Tests;

public sealed class WebhookUrlRulesTests
{
    /// <summary>Names resolve to what the test says; any other name does not exist.</summary>
    private sealed class FixedResolver(Dictionary<string, IPAddress[]> names) : IWebhookHostResolver
    {
        public List<string> Asked { get; } = [];

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Asked.Add(host);
            return names.TryGetValue(host, out var addresses)
                ? Task.FromResult(addresses)
                : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
        }
    }

    private static readonly FixedResolver Resolver = new(new()
    {
        ["receiver.example.com"] = [IPAddress.Parse("93.184.215.14")],
        ["intranet.example.com"] = [IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.20.30.40")],
        ["metadata.example.com"] = [IPAddress.Parse("169.254.169.254")],
        ["v6private.example.com"] = [IPAddress.Parse("fd00::1")],
        ["dev.example.com"] = [IPAddress.Loopback],
        ["nothing.example.com"] = [],
    });

    private static Task<string?> RefusalAsync(string? url, bool allowHttp = false, bool allowLoopback = false) =>
        WebhookUrlRules.RefusalAsync(url, allowHttp, allowLoopback, Resolver, CancellationToken.None);

    [Theory]
    [InlineData("https://receiver.example.com/hooks/pdm")]
    [InlineData("https://93.184.215.14:8443/hook")]
    [InlineData("https://[2606:2800:220:1:248:1893:25c8:1946]/hook")]
    public async Task A_public_https_endpoint_is_accepted(string url) => Assert.Null(await RefusalAsync(url));

    [Theory]
    [InlineData(null, "url is required")]
    [InlineData("", "url is required")]
    [InlineData("receiver.example.com/hook", "absolute https URL")]
    [InlineData("ftp://receiver.example.com/hook", "absolute https URL")]
    [InlineData("http://receiver.example.com/hook", "must use https")]
    [InlineData("https://user:pw@receiver.example.com/hook", "user name or password")]
    [InlineData("https://127.0.0.1/hook", "127.0.0.1, which is refused: loopback")]
    [InlineData("https://[::1]/hook", "::1, which is refused: loopback")]
    [InlineData("https://10.1.2.3/hook", "10.1.2.3, which is refused: private")]
    [InlineData("https://172.16.0.9/hook", "refused: private")]
    [InlineData("https://192.168.1.1/hook", "refused: private")]
    [InlineData("https://169.254.169.254/latest/meta-data", "169.254.169.254, which is refused: link-local")]
    [InlineData("https://[fc00::5]/hook", "refused: private (unique local)")]
    [InlineData("https://[::ffff:10.0.0.1]/hook", "private (IPv4 10.0.0.1 inside IPv6)")]
    [InlineData("https://intranet.example.com/hook", "'intranet.example.com' resolves to 10.20.30.40, which is refused: private")]
    [InlineData("https://metadata.example.com/hook", "resolves to 169.254.169.254, which is refused: link-local")]
    [InlineData("https://v6private.example.com/hook", "resolves to fd00::1, which is refused: private")]
    [InlineData("https://dev.example.com/hook", "resolves to 127.0.0.1, which is refused: loopback")]
    [InlineData("https://unknown.example.com/hook", "'unknown.example.com' does not resolve")]
    [InlineData("https://nothing.example.com/hook", "does not resolve")]
    public async Task A_refused_url_says_why(string? url, string reason)
    {
        var refusal = await RefusalAsync(url);
        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_is_accepted_only_with_the_development_setting() =>
        Assert.Null(await RefusalAsync("http://receiver.example.com/hook", allowHttp: true));

    [Fact]
    public async Task Loopback_is_accepted_only_when_allowed_and_private_addresses_never_are()
    {
        Assert.Null(await RefusalAsync("https://127.0.0.1:5001/hook", allowLoopback: true));
        Assert.Null(await RefusalAsync("https://[::1]/hook", allowLoopback: true));
        Assert.Null(await RefusalAsync("https://dev.example.com/hook", allowLoopback: true));
        Assert.Contains("private", await RefusalAsync("https://10.1.2.3/hook", allowLoopback: true), StringComparison.Ordinal);
        Assert.Contains("link-local", await RefusalAsync("https://169.254.169.254/", allowLoopback: true), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_too_long_url_is_refused_before_it_is_parsed()
    {
        var refusal = await RefusalAsync("https://receiver.example.com/" + new string('a', WebhookUrlRules.MaxLength));
        Assert.Contains($"at most {WebhookUrlRules.MaxLength}", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ip_literal_is_judged_without_asking_the_resolver()
    {
        var resolver = new FixedResolver([]);
        Assert.NotNull(await WebhookUrlRules.RefusalAsync("https://10.0.0.1/", false, false, resolver, CancellationToken.None));
        Assert.Empty(resolver.Asked);
    }
}
