using System.Globalization;
using System.Net.Http.Headers;
using StandardWebhooks;

namespace Pdm.Webhooks;

/// <summary>The three Standard Webhooks headers of one delivery attempt.</summary>
public sealed record WebhookSignatureHeaders(string Id, string Timestamp, string Signature)
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    public void ApplyTo(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.Add(IdHeader, Id);
        headers.Add(TimestampHeader, Timestamp);
        headers.Add(SignatureHeader, Signature);
    }
}

/// <summary>
/// Signs a body the Standard Webhooks way: <c>v1,&lt;base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"&gt;</c>, one
/// signature per valid secret separated by spaces, so a receiver holding either the old or the new secret during a
/// rotation accepts the message. The HMAC itself is the StandardWebhooks package's.
/// </summary>
public static class WebhookSigner
{
    /// <summary>Signs at <paramref name="timestamp"/>, which is the attempt's time (receivers reject stale ones).</summary>
    public static WebhookSignatureHeaders Sign(string messageId, DateTimeOffset timestamp, string body, IReadOnlyList<WebhookSecret> secrets)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret is needed to sign a webhook.", nameof(secrets));
        }
        if (messageId.Contains('.', StringComparison.Ordinal) || messageId.Any(char.IsWhiteSpace))
        {
            // The id is part of "{id}.{timestamp}.{body}"; a dot would make two different ids sign alike.
            throw new ArgumentException($"Webhook id '{messageId}' must not contain dots or spaces.", nameof(messageId));
        }

        // Whole seconds: the header carries Unix seconds and the signed content must match it exactly.
        var seconds = DateTimeOffset.FromUnixTimeSeconds(timestamp.ToUnixTimeSeconds());
        var signatures = secrets.Select(secret => new StandardWebhook(secret.Key.ToArray()).Sign(messageId, seconds, body));
        return new WebhookSignatureHeaders(
            messageId,
            seconds.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            string.Join(' ', signatures));
    }
}

/// <summary>
/// A subscription's secrets over a rotation: the current one, and the previous one until it expires. Both sign
/// while the previous is valid, so the tenant can switch their verifier at any moment in that window.
/// </summary>
public sealed record WebhookSecretSet(WebhookSecret Current, WebhookSecret? Previous = null, DateTimeOffset? PreviousValidUntil = null)
{
    /// <summary>The secrets to sign with at <paramref name="now"/>, current first.</summary>
    public IReadOnlyList<WebhookSecret> ValidAt(DateTimeOffset now) =>
        Previous is not null && PreviousValidUntil is { } until && now < until ? [Current, Previous] : [Current];

    /// <summary>Starts a rotation: a new current secret, the old one signing too for <paramref name="overlap"/>.</summary>
    public WebhookSecretSet Rotate(WebhookSecret next, DateTimeOffset now, TimeSpan overlap)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentOutOfRangeException.ThrowIfLessThan(overlap, TimeSpan.Zero);
        return new WebhookSecretSet(next, Current, now + overlap);
    }
}
