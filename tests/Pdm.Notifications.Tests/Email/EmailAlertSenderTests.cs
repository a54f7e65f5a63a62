using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Notifications.Email;
using Pdm.Webhooks;
using SmtpServer.Protocol;

namespace Pdm.Notifications.Tests.Email;

[Trait("Category", "Integration")]
public sealed class EmailAlertSenderTests : IAsyncLifetime
{
    private readonly SmtpSink _sink = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sink.DisposeAsync();

    [Fact]
    public async Task An_opened_alert_arrives_with_a_triage_subject_its_headers_and_both_bodies()
    {
        var body = AlertEvents.Envelope(AlertEvents.VibrationZoneD());
        var eventId = WebhookEvent.Deserialize(body).Id;

        var result = await Sender().SendAsync(new EmailDeliveryRequest(["oncall@plant.example"], body), default);

        Assert.Equal((WebhookAttemptOutcome.Delivered, 250), (result.Outcome, result.StatusCode));
        Assert.Null(result.Error);
        var received = Assert.Single(_sink.Messages);
        Assert.Equal("alerts@pdm.example", received.From);
        Assert.Equal(["oncall@plant.example"], received.To);
        var message = received.Message;
        Assert.Equal("[HIGH] Vibration zone D on PUMP_001 — opened", message.Subject);
        var from = Assert.IsType<MimeKit.MailboxAddress>(Assert.Single(message.From));
        Assert.Equal(("PDM alerts", "alerts@pdm.example"), (from.Name, from.Address));
        Assert.Equal($"{eventId}@pdm-serverless", message.MessageId);
        Assert.Equal(eventId, message.Headers["X-Pdm-Event-Id"]);
        Assert.Equal("demo", message.Headers["X-Pdm-Tenant"]);
        Assert.Equal("HIGH", message.Headers["X-Pdm-Severity"]);
        Assert.Equal("auto-generated", message.Headers["Auto-Submitted"]);

        var text = message.TextBody;
        Assert.Contains("vibration_rms 7.40 mm/s: ISO 10816 zone D", text, StringComparison.Ordinal);
        Assert.Contains("Machine:       PUMP_001", text, StringComparison.Ordinal);
        Assert.Contains("Rule:          vibration (iso_zone)", text, StringComparison.Ordinal);
        Assert.Contains("Anomaly score: 0.81 (threshold 0.5; isolation forest 0.4, statistical 0.3, temporal 0.11), ISO 10816 zone D", text, StringComparison.Ordinal);
        Assert.Contains("Top sensors:   vibration_rms 0.70, bearing_temp 0.20", text, StringComparison.Ordinal);
        Assert.Contains("health DEGRADED; remaining life 12.0 h (P10 8.0, P90 15.5); failure within 24 h 0.62, 48 h 0.80; risk HIGH", text, StringComparison.Ordinal);
        Assert.Contains($"Open the alert: https://pdm.example/tenants/demo/alerts/{AlertEvents.AlertId}", text, StringComparison.Ordinal);
        Assert.Contains($"<a href=\"https://pdm.example/tenants/demo/alerts/{AlertEvents.AlertId}\">", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<th align=\"left\" valign=\"top\">Machine</th><td>PUMP_001</td>", message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operator_text_is_escaped_in_the_html_body()
    {
        var body = AlertEvents.Envelope(AlertEvents.VibrationZoneD(AlertEventType.Acknowledged, by: "anna", comment: "<b>on it</b> & ordering bearing"));

        await Sender().SendAsync(new EmailDeliveryRequest(["oncall@plant.example"], body), default);

        var message = Assert.Single(_sink.Messages).Message;
        Assert.Equal("[HIGH] Vibration zone D on PUMP_001 — acknowledged by anna", message.Subject);
        Assert.Contains("&lt;b&gt;on it&lt;/b&gt; &amp; ordering bearing", message.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>on it</b>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("Comment:       <b>on it</b> & ordering bearing", message.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_recipient_is_a_refused_attempt_with_the_relays_reply()
    {
        var body = AlertEvents.Envelope(AlertEvents.VibrationZoneD());

        var result = await Sender().SendAsync(new EmailDeliveryRequest([SmtpSink.UnknownRecipient], body), default);

        Assert.Equal((WebhookAttemptOutcome.Refused, 550), (result.Outcome, result.StatusCode));
        Assert.False(result.ShouldRetry);
        Assert.StartsWith($"SMTP 550 recipient refused <{SmtpSink.UnknownRecipient}>: ", result.Error, StringComparison.Ordinal);
        Assert.Empty(_sink.Messages);
    }

    [Fact]
    public async Task A_transient_refusal_of_the_message_is_a_failed_attempt_to_retry()
    {
        _sink.AnswerToData = new SmtpResponse(SmtpReplyCode.InsufficientStorage, "mailbox full, try later");

        var result = await Sender().SendAsync(new EmailDeliveryRequest(["oncall@plant.example"], AlertEvents.Envelope(AlertEvents.VibrationZoneD())), default);

        Assert.Equal((WebhookAttemptOutcome.Failed, 452), (result.Outcome, result.StatusCode));
        Assert.True(result.ShouldRetry);
        Assert.Contains("mailbox full, try later", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relay_that_is_down_is_a_failed_attempt_naming_it()
    {
        var port = FreePort.Pick();

        var result = await Sender(port).SendAsync(new EmailDeliveryRequest(["oncall@plant.example"], AlertEvents.Envelope(AlertEvents.VibrationZoneD())), default);

        Assert.Equal(WebhookAttemptOutcome.Failed, result.Outcome);
        Assert.Null(result.StatusCode);
        Assert.StartsWith($"SMTP connect (127.0.0.1:{port}): ", result.Error, StringComparison.Ordinal);
        Assert.True(result.Latency < TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("{\"id\":\"evt_1\",\"type\":\"machine.added\",\"timestamp\":\"2026-03-04T05:06:07Z\",\"tenant\":\"demo\",\"data\":{\"machine\":\"M1\"}}",
        "Event evt_1 (machine.added) data is not an alert event")]
    [InlineData("not json", "Webhook event is not valid")]
    public async Task A_body_that_is_not_an_alert_event_is_refused_without_sending(string body, string reason)
    {
        var result = await Sender().SendAsync(new EmailDeliveryRequest(["oncall@plant.example"], body), default);

        Assert.Equal(WebhookAttemptOutcome.Refused, result.Outcome);
        Assert.StartsWith(reason, result.Error, StringComparison.Ordinal);
        Assert.Empty(_sink.Messages);
    }

    [Fact]
    public async Task A_malformed_recipient_is_refused_by_name()
    {
        var result = await Sender().SendAsync(new EmailDeliveryRequest(["oncall at plant"], AlertEvents.Envelope(AlertEvents.VibrationZoneD())), default);

        Assert.Equal((WebhookAttemptOutcome.Refused, "E-mail recipient 'oncall at plant' is not an e-mail address."), (result.Outcome, result.Error));
    }

    [Fact]
    public void Escalations_and_resolutions_say_so_in_the_subject()
    {
        var sender = Sender();
        string? Subject(AlertEvent e) => sender.Compose(new EmailDeliveryRequest(["a@b.example"], AlertEvents.Envelope(e))).Subject;

        Assert.Equal("[CRITICAL] Vibration zone D on PUMP_001 — escalated from HIGH",
            Subject(AlertEvents.VibrationZoneD(AlertEventType.Escalated, AlertSeverity.Critical, AlertSeverity.High)));
        Assert.Equal("[HIGH] Vibration zone D on PUMP_001 — resolved",
            Subject(AlertEvents.VibrationZoneD(AlertEventType.Resolved, by: AlertLifecycle.System)));
        Assert.Equal("[HIGH] Vibration zone D on PUMP_001 — resolved by anna",
            Subject(AlertEvents.VibrationZoneD(AlertEventType.Resolved, by: "anna")));
    }

    [Fact]
    public void An_anomaly_alert_escalated_by_a_zone_crossing_is_titled_by_the_zone()
    {
        var sender = Sender();
        string? Subject(AlertEvent e) => sender.Compose(new EmailDeliveryRequest(["a@b.example"], AlertEvents.Envelope(e))).Subject;
        var escalated = AlertEvents.VibrationZoneD(AlertEventType.Escalated, AlertSeverity.Critical, AlertSeverity.Medium);
        var anomaly = escalated with { Alert = escalated.Alert with { RuleId = "anomaly", RuleKind = AnomalyScoreRule.KindName } };
        var zoneB = anomaly.Alert.Explanation.Score! with { IsoZone = Pdm.Telemetry.VibrationZone.B };
        var stillAnomalous = anomaly with
        {
            Type = AlertEventType.Opened,
            Alert = anomaly.Alert with { Explanation = anomaly.Alert.Explanation with { Score = zoneB } },
        };

        Assert.Equal("[CRITICAL] Vibration zone D on PUMP_001 — escalated from MEDIUM", Subject(anomaly));
        Assert.Equal("[CRITICAL] Anomaly score on PUMP_001 — opened", Subject(stillAnomalous));
    }

    [Fact]
    public void Bad_settings_fail_at_start_naming_each_setting_and_why()
    {
        var services = new ServiceCollection().AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pdm:Email:Port"] = "70000",
            ["Pdm:Email:Security"] = "None",
            ["Pdm:Email:UserName"] = "relay",
            ["Pdm:Email:Password"] = "secret",
            ["Pdm:Email:From"] = "alerts",
            ["Pdm:Email:AlertLink"] = "/alerts/{alertId}",
            ["Pdm:Email:TotalTimeout"] = "00:00:00",
        }).Build()).AddPdmEmail().BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<EmailAlertSender>());

        Assert.Equal(
        [
            "Pdm:Email:Host is required: the SMTP relay's host name.",
            "Pdm:Email:Port 70000 must be 1 to 65535.",
            "Pdm:Email:Password is set but Pdm:Email:Security is None: a password is only sent over TLS.",
            "Pdm:Email:From 'alerts' is not an e-mail address.",
            "Pdm:Email:AlertLink '/alerts/{alertId}' is not an absolute http(s) URL (placeholders {tenant} and {alertId}).",
            "Pdm:Email:TotalTimeout 00:00:00 must be 00:00:00.1000000 to 00:05:00.",
        ], error.Failures);
    }

    private EmailAlertSender Sender(int? port = null) => new(new EmailOptions
    {
        Host = "127.0.0.1",
        Port = port ?? _sink.Port,
        Security = EmailSecurity.None,
        From = "PDM alerts <alerts@pdm.example>",
        AlertLink = "https://pdm.example/tenants/{tenant}/alerts/{alertId}",
        ConnectTimeout = TimeSpan.FromSeconds(3),
        TotalTimeout = TimeSpan.FromSeconds(10),
    }, TimeProvider.System);
}
