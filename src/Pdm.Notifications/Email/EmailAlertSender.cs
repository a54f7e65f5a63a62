using System.Globalization;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Pdm.Webhooks;

namespace Pdm.Notifications.Email;

/// <summary>One e-mail of one alert event to a subscription's recipients.</summary>
/// <param name="To">The subscription's addresses; one the relay refuses refuses the message.</param>
/// <param name="Body">The event envelope exactly as stored and queued (<see cref="WebhookEvent.Serialize"/>).</param>
public sealed record EmailDeliveryRequest(IReadOnlyList<string> To, string Body);

/// <summary>
/// The e-mail channel for tenants without a webhook endpoint: renders an alert event (<see cref="AlertEmail"/>) and
/// sends it through the configured SMTP relay, one connection per attempt. The answer has the shape of a webhook
/// attempt so the retry schedule and the attempt log treat both channels alike: <see cref="WebhookAttemptResult.StatusCode"/>
/// is the SMTP reply code and <see cref="WebhookAttemptResult.ResponseExcerpt"/> the relay's reply text.
/// <list type="bullet">
/// <item>accepted (2xx): <see cref="WebhookAttemptOutcome.Delivered"/>;</item>
/// <item>a permanent refusal (5xx: unknown recipient, sender refused) or a body that is not an alert event:
/// <see cref="WebhookAttemptOutcome.Refused"/>, since retrying cannot help until the subscription changes;</item>
/// <item>a transient refusal (4xx), no connection, TLS or login failure, a timeout: <see cref="WebhookAttemptOutcome.Failed"/>,
/// retried on the webhook schedule.</item>
/// </list>
/// The Message-ID is made from the event id, so a retried mail is recognisably the same message.
/// </summary>
public sealed class EmailAlertSender
{
    private readonly EmailOptions _options;
    private readonly TimeProvider _time;
    private readonly MailboxAddress _from;

    /// <exception cref="ArgumentException">The options do not pass <see cref="EmailOptionsValidator"/>; the message lists why.</exception>
    public EmailAlertSender(EmailOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var validation = new EmailOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }
        _options = options;
        _time = timeProvider;
        _from = MailboxAddress.Parse(options.From!);
    }

    /// <summary>Renders and sends once. Every outcome is a result; only the caller's own cancellation throws.</summary>
    public async Task<WebhookAttemptResult> SendAsync(EmailDeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var attemptedAt = _time.GetUtcNow();
        var started = _time.GetTimestamp();
        WebhookAttemptResult Result(WebhookAttemptOutcome outcome, int? code = null, string? reply = null, string? error = null) =>
            new(outcome, attemptedAt, _time.GetElapsedTime(started), code, reply, Error: error);

        MimeMessage message;
        try
        {
            message = Compose(request);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or ParseException)
        {
            return Result(WebhookAttemptOutcome.Refused, error: ex.Message);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TotalTimeout);
        using var client = new SmtpClient { Timeout = (int)_options.ConnectTimeout.TotalMilliseconds };
        var stage = "connect";
        try
        {
            await client.ConnectAsync(_options.Host!.Trim(), _options.Port, Socket(_options.Security), timeout.Token);
            if (!string.IsNullOrEmpty(_options.UserName))
            {
                stage = "log in";
                await client.AuthenticateAsync(_options.UserName, _options.Password ?? "", timeout.Token);
            }
            stage = "send";
            var reply = await client.SendAsync(message, timeout.Token);
            stage = "quit";
            await client.DisconnectAsync(quit: true, timeout.Token);
            return Result(WebhookAttemptOutcome.Delivered, 250, reply);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Result(WebhookAttemptOutcome.Failed, error: F($"SMTP {stage}: no answer within {_options.TotalTimeout.TotalSeconds:0.###} s"));
        }
        catch (SmtpCommandException ex)
        {
            var code = (int)ex.StatusCode;
            var who = ex.Mailbox is { } mailbox ? $" <{mailbox.Address}>" : "";
            var outcome = code is >= 500 and <= 599 ? WebhookAttemptOutcome.Refused : WebhookAttemptOutcome.Failed;
            return Result(outcome, code, ex.Message, F($"SMTP {code} {Describe(ex.ErrorCode)}{who}: {ex.Message}"));
        }
        catch (Exception ex) when (ex is SocketException or IOException or SmtpProtocolException or SslHandshakeException
            or AuthenticationException or ServiceNotConnectedException or TimeoutException)
        {
            var where = F($"{_options.Host}:{_options.Port}");
            return Result(WebhookAttemptOutcome.Failed, error: $"SMTP {stage} ({where}): {ex.Message}");
        }
    }

    /// <summary>The message as it will be sent (exposed for a preview in the API).</summary>
    /// <exception cref="FormatException">The body is not an alert event, or an address is not one.</exception>
    public MimeMessage Compose(EmailDeliveryRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.To.Count == 0)
        {
            throw new FormatException("E-mail subscription has no recipient.");
        }
        var envelope = WebhookEvent.Deserialize(request.Body);
        var alert = AlertEmail.ReadAlertEvent(envelope).Alert;
        var email = AlertEmail.Render(envelope, Link(envelope.Tenant, alert.Id));

        var message = new MimeMessage { Subject = email.Subject, Date = _time.GetUtcNow(), MessageId = $"{envelope.Id}@pdm-serverless" };
        message.From.Add(_from);
        foreach (var to in request.To)
        {
            if (!MailboxAddress.TryParse(to, out var address) || !address.Address.Contains('@', StringComparison.Ordinal))
            {
                throw new FormatException($"E-mail recipient '{to}' is not an e-mail address.");
            }
            message.To.Add(address);
        }
        // RFC 3834: out-of-office and other auto-responders do not answer a machine's message.
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add("X-Pdm-Tenant", envelope.Tenant);
        message.Headers.Add("X-Pdm-Event-Id", envelope.Id);
        message.Headers.Add("X-Pdm-Event-Type", envelope.Type);
        message.Headers.Add("X-Pdm-Alert-Id", alert.Id.ToString());
        message.Headers.Add("X-Pdm-Severity", alert.Severity.ToString().ToUpperInvariant());
        message.Body = new BodyBuilder { TextBody = email.Text, HtmlBody = email.Html }.ToMessageBody();
        return message;
    }

    private Uri? Link(string tenant, Guid alertId) => _options.AlertLink is { Length: > 0 } template
        ? new Uri(template.Replace("{tenant}", Uri.EscapeDataString(tenant), StringComparison.Ordinal)
            .Replace("{alertId}", alertId.ToString(), StringComparison.Ordinal))
        : null;

    private static SecureSocketOptions Socket(EmailSecurity security) => security switch
    {
        EmailSecurity.Tls => SecureSocketOptions.SslOnConnect,
        EmailSecurity.None => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTls,
    };

    private static string Describe(SmtpErrorCode code) => code switch
    {
        SmtpErrorCode.RecipientNotAccepted => "recipient refused",
        SmtpErrorCode.SenderNotAccepted => "sender refused",
        SmtpErrorCode.MessageNotAccepted => "message refused",
        _ => "unexpected reply",
    };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
