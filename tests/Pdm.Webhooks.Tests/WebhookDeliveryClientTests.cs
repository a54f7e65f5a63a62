using System.Net;

namespace Pdm.Webhooks.Tests;

/// <summary>
/// The delivery client against a real Kestrel receiver on 127.0.0.1. Refusals are checked against addresses no test
/// may ever reach (10.x, 169.254.169.254): the client must refuse them before opening a socket.
/// </summary>
[Trait("Category", "Integration")]
public sealed class WebhookDeliveryClientTests(WebhookReceiver receiver) : IClassFixture<WebhookReceiver>
{
    private static readonly WebhookDeliveryOptions DevelopmentOptions = new()
    {
        AllowHttp = true,
        AllowLoopback = true,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        TotalTimeout = TimeSpan.FromSeconds(5),
        ResponseExcerptBytes = 1024,
    };

    private static WebhookDeliveryRequest Request(Uri url, bool allowLoopback = true, WebhookSecret? secret = null)
    {
        var id = WebhookEvent.NewId(DateTimeOffset.UtcNow);
        var body = new WebhookEvent
        {
            Id = id,
            Type = "alert.opened",
            Timestamp = DateTimeOffset.UtcNow,
            Tenant = "demo",
            Data = System.Text.Json.JsonDocument.Parse("{\"machine\":\"EG_M001\",\"severity\":\"HIGH\"}").RootElement,
        }.Serialize();
        return new WebhookDeliveryRequest(url, id, body, [secret ?? WebhookSecret.Generate()], allowLoopback);
    }

    private IReadOnlyList<ReceivedWebhook> ReceivedFor(WebhookDeliveryRequest request) =>
        [.. receiver.Received.Where(r => r.Headers.GetValueOrDefault("webhook-id") == request.MessageId)];

    [Fact]
    public async Task A_2xx_is_delivered_signed_so_the_reference_implementation_verifies_it()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);
        var secret = WebhookSecret.Generate();
        var request = Request(receiver.Url("/ok"), secret: secret);

        var result = await client.DeliverAsync(request, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Delivered, result.Outcome);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("thanks", result.ResponseExcerpt);
        Assert.False(result.ShouldRetry);
        Assert.InRange(result.Latency, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(5));
        var received = Assert.Single(ReceivedFor(request));
        Assert.Equal(request.Body, received.Body);
        Assert.StartsWith("application/json", received.Headers["content-type"], StringComparison.Ordinal);
        var headers = new Dictionary<string, string>
        {
            ["webhook-id"] = received.Headers["webhook-id"],
            ["webhook-timestamp"] = received.Headers["webhook-timestamp"],
            ["webhook-signature"] = received.Headers["webhook-signature"],
        };
        Assert.Equal(["ok"], await ReferenceVerifier.VerifyAsync(received.Body, headers, secret.Encoded));
    }

    [Fact]
    public async Task A_500_fails_and_is_retried_with_the_excerpt_kept()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);

        var result = await client.DeliverAsync(Request(receiver.Url("/fail")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Equal(500, result.StatusCode);
        Assert.Equal("boom", result.ResponseExcerpt);
        Assert.Equal("HTTP 500 Internal Server Error", result.Error);
        Assert.True(result.ShouldRetry);
    }

    [Fact]
    public async Task A_410_is_reported_as_gone_and_not_retried()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);

        var result = await client.DeliverAsync(Request(receiver.Url("/gone")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Gone, result.Outcome);
        Assert.Equal(410, result.StatusCode);
        Assert.False(result.ShouldRetry);
    }

    [Fact]
    public async Task A_503_with_retry_after_reports_the_receivers_wish()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);

        var result = await client.DeliverAsync(Request(receiver.Url("/busy")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(120), result.RetryAfter);
    }

    [Fact]
    public async Task A_slow_receiver_times_out_as_a_failed_attempt()
    {
        using var client = new WebhookDeliveryClient(new WebhookDeliveryOptions { AllowHttp = true, AllowLoopback = true, TotalTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System);

        var result = await client.DeliverAsync(Request(receiver.Url("/slow")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Null(result.StatusCode);
        Assert.Equal("No response within 1 s", result.Error);
        Assert.InRange(result.Latency, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_not_an_attempt_result()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DeliverAsync(Request(receiver.Url("/slow")), cancel.Token));
    }

    [Fact]
    public async Task A_big_response_is_read_only_up_to_the_cap()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);

        var result = await client.DeliverAsync(Request(receiver.Url("/big")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Delivered, result.Outcome);
        Assert.Equal(new string('x', 1024), result.ResponseExcerpt);
        Assert.True(result.ResponseTruncated);
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_names_its_location()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);
        var request = Request(receiver.Url("/redirect"));

        var result = await client.DeliverAsync(request, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Equal(302, result.StatusCode);
        Assert.Contains($"redirect to {receiver.Url("/ok")} not followed", result.Error, StringComparison.Ordinal);
        Assert.Equal(["/redirect"], ReceivedFor(request).Select(r => r.Path));
    }

    [Theory]
    [InlineData("https://127.0.0.1/hook", "loopback")]
    [InlineData("https://10.0.0.1/hook", "private")]
    [InlineData("https://169.254.169.254/latest/meta-data", "link-local (cloud metadata")]
    [InlineData("https://[::1]/hook", "loopback")]
    [InlineData("https://[::ffff:10.0.0.1]/hook", "private (IPv4 10.0.0.1 inside IPv6)")]
    [InlineData("https://[fd00::1]/hook", "unique local")]
    public async Task Internal_addresses_are_refused_before_any_connection(string url, string reason)
    {
        var resolver = new RecordingResolver(_ => throw new InvalidOperationException("an address literal must not be resolved"));
        using var client = new WebhookDeliveryClient(new WebhookDeliveryOptions(), TimeProvider.System, resolver);

        var result = await client.DeliverAsync(Request(new Uri(url), allowLoopback: false), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Null(result.StatusCode);
        Assert.False(result.ShouldRetry);
    }

    [Fact]
    public async Task A_request_asking_for_loopback_is_refused_unless_the_development_option_allows_it()
    {
        using var client = new WebhookDeliveryClient(new WebhookDeliveryOptions { AllowHttp = true }, TimeProvider.System);
        var request = Request(receiver.Url("/ok"), allowLoopback: true);

        var result = await client.DeliverAsync(request, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.Contains("loopback", result.Error, StringComparison.Ordinal);
        Assert.Empty(ReceivedFor(request));
    }

    [Fact]
    public async Task Plain_http_is_refused_unless_the_development_option_allows_it()
    {
        using var client = new WebhookDeliveryClient(new WebhookDeliveryOptions(), TimeProvider.System);
        var request = Request(receiver.Url("/ok"));

        var result = await client.DeliverAsync(request, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.Contains("only https is allowed", result.Error, StringComparison.Ordinal);
        Assert.Empty(ReceivedFor(request));
    }

    [Fact]
    public async Task Localhost_is_refused_when_connecting_because_it_resolves_to_loopback()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);
        var request = Request(new UriBuilder(receiver.Url("/ok")) { Host = "localhost" }.Uri, allowLoopback: false);

        var result = await client.DeliverAsync(request, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.Matches("Webhook host localhost resolves to .*, which is refused: loopback", result.Error);
        Assert.Empty(ReceivedFor(request));
    }

    [Fact]
    public async Task A_host_name_resolving_to_a_private_address_is_refused_when_connecting()
    {
        var resolver = new RecordingResolver(_ => [IPAddress.Parse("10.1.2.3")]);
        using var client = new WebhookDeliveryClient(new WebhookDeliveryOptions(), TimeProvider.System, resolver);

        var result = await client.DeliverAsync(Request(new Uri("https://hooks.customer.test/in"), allowLoopback: false), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.Equal("Webhook host hooks.customer.test resolves to 10.1.2.3, which is refused: private.", result.Error);
        Assert.Equal(["hooks.customer.test"], resolver.Hosts);
    }

    [Fact]
    public async Task Allowed_loopback_connects_to_the_checked_address_and_never_shares_that_connection()
    {
        // The name resolves once, in the connect callback, and the socket goes to that address: here our receiver.
        var resolver = new RecordingResolver(_ => [IPAddress.Loopback]);
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System, resolver);
        var url = new UriBuilder(receiver.Url("/ok")) { Host = "dev.tenant.test" }.Uri;

        var allowed = await client.DeliverAsync(Request(url, allowLoopback: true), CancellationToken.None);
        var notAllowed = Request(url, allowLoopback: false);
        var refused = await client.DeliverAsync(notAllowed, CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Delivered, allowed.Outcome);
        Assert.Equal(WebhookAttemptOutcome.Refused, refused.Outcome);
        Assert.Contains("refused: loopback", refused.Error, StringComparison.Ordinal);
        Assert.Empty(ReceivedFor(notAllowed));
    }

    [Fact]
    public async Task A_closed_port_is_a_failed_attempt()
    {
        using var client = new WebhookDeliveryClient(DevelopmentOptions, TimeProvider.System);
        var port = FreeLoopbackPort();

        var result = await client.DeliverAsync(Request(new Uri($"http://127.0.0.1:{port}/hook")), CancellationToken.None);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Contains("refused", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.True(result.ShouldRetry);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class RecordingResolver(Func<string, IPAddress[]> resolve) : IWebhookHostResolver
    {
        public List<string> Hosts { get; } = [];

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            lock (Hosts)
            {
                Hosts.Add(host);
            }
            return Task.FromResult(resolve(host));
        }
    }
}
