using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pdm.Webhooks.Tests;

public sealed class WebhookMessagesTests
{
    private static readonly DateTimeOffset At = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private static WebhookEvent Event(string type = "alert.opened") => new()
    {
        Id = WebhookEvent.NewId(At),
        Type = type,
        Timestamp = At,
        Tenant = "demo",
        Data = JsonDocument.Parse("{\"alertId\":42,\"machine\":\"EG_M001\",\"severity\":\"HIGH\"}").RootElement,
    };

    [Fact]
    public void The_envelope_has_id_type_timestamp_tenant_and_data()
    {
        var evt = Event();

        var json = JsonNode.Parse(evt.Serialize())!.AsObject();

        Assert.Equal(["id", "type", "timestamp", "tenant", "data"], json.Select(p => p.Key));
        Assert.Equal(evt.Id, (string?)json["id"]);
        Assert.Equal("alert.opened", (string?)json["type"]);
        Assert.Equal(At, DateTimeOffset.Parse((string)json["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(42, (int?)json["data"]!["alertId"]);
    }

    [Fact]
    public void Event_ids_are_time_ordered_tokens()
    {
        var first = WebhookEvent.NewId(At);
        var later = WebhookEvent.NewId(At.AddMilliseconds(5));

        Assert.Matches("^evt_[0-9a-f]{32}$", first);
        Assert.True(string.CompareOrdinal(first, later) < 0);
    }

    [Fact]
    public void The_body_survives_the_queue_byte_for_byte()
    {
        var body = Event().Serialize();
        var message = new WebhookDeliveryMessage { EventId = "evt_1", SubscriptionId = "sub_1", Tenant = "demo", Attempt = 1, Body = body };

        var read = WebhookDeliveryMessage.Parse(message.ForAttempt(2).ToQueueText());

        Assert.Equal(body, read.Body);
        Assert.Equal(2, read.Attempt);
        Assert.Equal(WebhookEvent.Deserialize(body).Data.GetRawText(), JsonDocument.Parse(body).RootElement.GetProperty("data").GetRawText());
    }

    [Fact]
    public void Queue_text_is_a_json_object_the_functions_host_cannot_mistake_for_base64()
    {
        var text = new WebhookDeliveryMessage { EventId = "evt_1", SubscriptionId = "sub_1", Tenant = "demo", Attempt = 1, Body = "{}" }.ToQueueText();

        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        Assert.False(Convert.TryFromBase64String(text, new byte[text.Length], out _));
    }

    [Theory]
    [InlineData("not json", "Webhook delivery message is not valid")]
    [InlineData("{\"version\":1,\"eventId\":\"evt_1\",\"subscriptionId\":\"sub_1\",\"tenant\":\"demo\",\"body\":\"{}\"}", "attempt")]
    [InlineData("{\"version\":1,\"eventId\":\"evt_1\",\"subscriptionId\":\"sub_1\",\"tenant\":\"demo\",\"attempt\":0,\"body\":\"{}\"}", "attempt 0 must be 1 or more")]
    [InlineData("{\"version\":1,\"eventId\":\"evt.1\",\"subscriptionId\":\"sub_1\",\"tenant\":\"demo\",\"attempt\":1,\"body\":\"{}\"}", "eventId 'evt.1' must be")]
    [InlineData("{\"eventId\":\"evt_1\",\"subscriptionId\":\"sub_1\",\"tenant\":\"demo\",\"attempt\":1,\"body\":\"{}\"}", "version")]
    [InlineData("{\"version\":2,\"eventId\":\"evt_1\",\"subscriptionId\":\"sub_1\",\"tenant\":\"demo\",\"attempt\":1,\"body\":\"{}\"}", "version 2 is not supported")]
    public void Bad_queue_messages_are_refused_naming_the_field(string text, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => WebhookDeliveryMessage.Parse(text));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_too_big_for_a_queue_is_refused_when_made()
    {
        var message = new WebhookDeliveryMessage { EventId = "evt_1", SubscriptionId = "sub_1", Tenant = "demo", Attempt = 1, Body = new string('x', 70_000) };

        var ex = Assert.Throws<ArgumentException>(() => message.ToQueueText());
        Assert.Contains("a queue message holds at most 65536", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Alert Opened", "type")]
    [InlineData("", "type")]
    public void Bad_event_types_are_refused(string type, string field)
    {
        var ex = Assert.Throws<ArgumentException>(() => Event(type).Serialize());
        Assert.Equal(field, ex.ParamName, ignoreCase: true);
    }
}
