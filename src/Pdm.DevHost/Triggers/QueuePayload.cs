using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>One received queue message, its body already decoded per messageEncoding.</summary>
internal sealed record ReceivedQueueMessage
{
    public required string MessageId { get; init; }
    public required string PopReceipt { get; init; }
    public required long DequeueCount { get; init; }
    public required ReadOnlyMemory<byte> Body { get; init; }
    public DateTimeOffset? InsertedOn { get; init; }
    public DateTimeOffset? ExpiresOn { get; init; }
    public DateTimeOffset? NextVisibleOn { get; init; }
}

/// <summary>
/// The invocation payload of a queueTrigger function as the host builds it for a custom handler (azure-contracts.md
/// §1.4 and §3.1): Data.&lt;name&gt; is the message text, JSON-serialized into a string (so a JSON object message is the
/// string <c>"{\"a\":1}"</c> inside a string, unchanged once decoded); dataType binary sends base64 of the body instead.
/// Metadata strings and numbers are JSON-serialized the same way, times are ISO 8601 strings. No RetryContext: queues
/// retry by redelivery.
/// </summary>
internal static class QueuePayload
{
    // Newtonsoft escapes only what JSON requires; the default encoder here would also escape <, > and non-ASCII.
    private static readonly JsonSerializerOptions HostJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static InvocationInput Build(QueueTriggerBinding binding, ReceivedQueueMessage message)
    {
        JsonNode data = binding.Binary
            ? JsonValue.Create(Convert.ToBase64String(message.Body.Span))
            : HostString(Encoding.UTF8.GetString(message.Body.Span));
        var metadata = new JsonObject
        {
            ["DequeueCount"] = JsonValue.Create(message.DequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ["ExpirationTime"] = Time(message.ExpiresOn),
            ["Id"] = HostString(message.MessageId),
            ["InsertionTime"] = Time(message.InsertedOn),
            ["NextVisibleTime"] = Time(message.NextVisibleOn),
            ["PopReceipt"] = HostString(message.PopReceipt),
        };
        // The host leaves out binding data that is null (a message without times, as Azurite may send).
        foreach (var absent in metadata.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            metadata.Remove(absent);
        }

        return new InvocationInput(new JsonObject { [binding.Name] = data }, metadata);
    }

    /// <summary>Decodes message text per messageEncoding; null when base64 is expected and the text is not base64.</summary>
    public static byte[]? DecodeBody(string text, bool base64)
    {
        if (!base64)
        {
            return Encoding.UTF8.GetBytes(text);
        }

        var buffer = new byte[text.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }

    /// <summary>A string as the host puts it in: Newtonsoft's SerializeObject of it, as a JSON string.</summary>
    private static JsonValue HostString(string value) => JsonValue.Create(JsonSerializer.Serialize(value, HostJson));

    /// <summary>The host round-trips times through ToString(), so they arrive to the second.</summary>
    private static JsonValue? Time(DateTimeOffset? value) => value is { } t
        ? JsonValue.Create(new DateTimeOffset(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset))
        : null;
}
