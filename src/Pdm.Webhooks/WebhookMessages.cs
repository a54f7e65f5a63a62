using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pdm.Webhooks;

/// <summary>
/// The body every webhook POSTs: <c>{"id","type","timestamp","tenant","data"}</c>. It is serialised once, when the
/// event is made (<see cref="Serialize"/>), and that exact text is stored, queued, signed and sent on every attempt,
/// so a retry is byte for byte the same message. <see cref="Id"/> is also the <c>webhook-id</c> header.
/// </summary>
public sealed record WebhookEvent
{
    /// <summary>Unique per event, the receivers' dedupe key: <c>evt_</c> and a time-ordered UUID (<see cref="NewId"/>).</summary>
    public required string Id { get; init; }

    /// <summary>What happened, dotted lower case: <c>alert.opened</c>, <c>alert.escalated</c>, <c>alert.resolved</c>, …</summary>
    public required string Type { get; init; }

    /// <summary>When the event happened (not when it is sent: that is <c>webhook-timestamp</c>).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    public required string Tenant { get; init; }

    /// <summary>The event's own payload (for an alert: the alert with its explanation).</summary>
    public required JsonElement Data { get; init; }

    /// <summary>A new event id: time-ordered, so ids sort in the order events were made.</summary>
    public static string NewId(DateTimeOffset at) => "evt_" + Guid.CreateVersion7(at).ToString("N");

    /// <summary>The body to store and send; throws <see cref="ArgumentException"/> naming a bad field.</summary>
    public string Serialize()
    {
        Validate();
        return JsonSerializer.Serialize(this, WebhookJsonContext.Default.WebhookEvent);
    }

    public static WebhookEvent Deserialize(string body)
    {
        var value = WebhookJson.Read(body, WebhookJsonContext.Default.WebhookEvent, "Webhook event");
        value.Validate();
        return value;
    }

    private void Validate()
    {
        WebhookJson.RequireToken(Id, "id");
        if (string.IsNullOrWhiteSpace(Type) || Type.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_')))
        {
            throw new ArgumentException($"Webhook event type '{Type}' must be dotted lower case (a-z, 0-9, '.', '_').", nameof(Type));
        }
        WebhookJson.RequireToken(Tenant, "tenant");
        if (Data.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("Webhook event data is missing.", nameof(Data));
        }
    }
}

/// <summary>
/// The queue message asking for one attempt of one event to one subscription. Always a JSON object: the Functions
/// host base64-decodes a queue output string that happens to be valid base64, and a bare string could be one.
/// The event's body rides along as text, so the delivery needs no database read and sends exactly what was stored.
/// </summary>
public sealed record WebhookDeliveryMessage
{
    public const int CurrentVersion = 1;

    /// <summary>Azure Storage queue messages hold at most 64 KiB.</summary>
    public const int MaxQueueMessageBytes = 64 * 1024;

    /// <summary>Required in the JSON, so a message of another shape is refused rather than read as version 1.</summary>
    [JsonRequired]
    public int Version { get; init; } = CurrentVersion;

    public required string EventId { get; init; }

    public required string SubscriptionId { get; init; }

    public required string Tenant { get; init; }

    /// <summary>The attempt this message asks for, 1 for the first (<see cref="WebhookRetrySchedule"/>).</summary>
    public required int Attempt { get; init; }

    /// <summary>The event envelope exactly as <see cref="WebhookEvent.Serialize"/> made it.</summary>
    public required string Body { get; init; }

    /// <summary>The same delivery, for the attempt after this one.</summary>
    public WebhookDeliveryMessage ForAttempt(int attempt) => this with { Attempt = attempt };

    /// <summary>The queue message text; throws when a field is bad or the message outgrows a queue message.</summary>
    public string ToQueueText()
    {
        Validate();
        var text = JsonSerializer.Serialize(this, WebhookJsonContext.Default.WebhookDeliveryMessage);
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxQueueMessageBytes)
        {
            throw new ArgumentException($"Webhook delivery message for event {EventId} is {bytes} bytes; a queue message holds at most {MaxQueueMessageBytes}.");
        }
        return text;
    }

    /// <summary>Reads a queue message; a bad one throws <see cref="FormatException"/> naming the field and the reason.</summary>
    public static WebhookDeliveryMessage Parse(string text)
    {
        var message = WebhookJson.Read(text, WebhookJsonContext.Default.WebhookDeliveryMessage, "Webhook delivery message");
        try
        {
            message.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new FormatException(ex.Message, ex);
        }
        return message;
    }

    private void Validate()
    {
        if (Version != CurrentVersion)
        {
            throw new ArgumentException($"Webhook delivery message version {Version} is not supported (this build reads {CurrentVersion}).", nameof(Version));
        }
        WebhookJson.RequireToken(EventId, "eventId");
        WebhookJson.RequireToken(SubscriptionId, "subscriptionId");
        WebhookJson.RequireToken(Tenant, "tenant");
        if (Attempt < 1)
        {
            throw new ArgumentException($"Webhook delivery message attempt {Attempt} must be 1 or more.", nameof(Attempt));
        }
        if (string.IsNullOrEmpty(Body))
        {
            throw new ArgumentException("Webhook delivery message body is empty.", nameof(Body));
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(WebhookEvent))]
[JsonSerializable(typeof(WebhookDeliveryMessage))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

internal static class WebhookJson
{
    public static T Read<T>(string text, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return JsonSerializer.Deserialize(text, type) ?? throw new FormatException($"{what} is null, not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{what} is not valid: {ex.Message}", ex);
        }
    }

    /// <summary>Ids go into headers and into the signed "{id}.{timestamp}.{body}": letters, digits, '_' and '-' only.</summary>
    public static void RequireToken(string value, string field)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 128 || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            throw new ArgumentException($"Webhook {field} '{value}' must be 1 to 128 letters, digits, '_' or '-'.", field);
        }
    }
}
