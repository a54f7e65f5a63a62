using System.Net;
using System.Net.Sockets;

namespace Pdm.Webhooks;

/// <summary>
/// What a subscription's URL must be when it is saved: absolute https (http only when the development setting allows
/// it), without user-info, and pointing (as an IP literal or through every address its host name resolves to now) at
/// an address <see cref="WebhookAddressPolicy"/> allows. This is the early, explainable refusal; the delivery client
/// checks again at connect, since a name may resolve elsewhere later (DNS rebinding).
/// </summary>
public static class WebhookUrlRules
{
    public const int MaxLength = 2048;

    /// <summary>How long the host name may take to resolve before the URL is refused.</summary>
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Why <paramref name="url"/> may not be a webhook endpoint, or null when it may.</summary>
    /// <param name="allowHttp">The development setting <c>Pdm__Webhooks__AllowHttp</c>.</param>
    /// <param name="allowLoopback">The subscription asks for loopback and the development setting permits it; private,
    /// link-local and metadata addresses stay refused either way.</param>
    public static async Task<string?> RefusalAsync(string? url, bool allowHttp, bool allowLoopback, IWebhookHostResolver resolver,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        if (string.IsNullOrWhiteSpace(url))
        {
            return "url is required: the https address events are POSTed to";
        }
        if (url.Length > MaxLength)
        {
            return $"url is {url.Length} characters long; at most {MaxLength} are allowed";
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.HostNameType is UriHostNameType.Unknown or UriHostNameType.Basic || uri.Host.Length == 0)
        {
            return "url must be an absolute https URL such as https://example.com/hooks/pdm";
        }
        if (uri.Scheme == Uri.UriSchemeHttp && !allowHttp)
        {
            return "url must use https (plain http only where the development setting Pdm__Webhooks__AllowHttp is on)";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "url must not carry a user name or password; receivers authenticate us by the signature";
        }
        var host = uri.DnsSafeHost;
        if (IPAddress.TryParse(host, out var literal))
        {
            return WebhookAddressPolicy.RefusalReason(literal, allowLoopback) is { } reason
                ? $"url points at {literal}, which is refused: {reason}{LoopbackHint(reason)}"
                : null;
        }
        IPAddress[] addresses;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ResolveTimeout);
        try
        {
            addresses = await resolver.ResolveAsync(host, timeout.Token);
        }
        catch (SocketException)
        {
            return $"url's host '{host}' does not resolve";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"url's host '{host}' did not resolve within {ResolveTimeout.TotalSeconds:0} s";
        }
        if (addresses.Length == 0)
        {
            return $"url's host '{host}' does not resolve";
        }
        foreach (var address in addresses)
        {
            if (WebhookAddressPolicy.RefusalReason(address, allowLoopback) is { } reason)
            {
                return $"url's host '{host}' resolves to {address}, which is refused: {reason}{LoopbackHint(reason)}";
            }
        }
        return null;
    }

    private static string LoopbackHint(string reason) =>
        reason.StartsWith("loopback", StringComparison.Ordinal)
            ? " (a development receiver on loopback needs allowLoopback and the setting Pdm__Webhooks__AllowLoopback)"
            : "";
}
