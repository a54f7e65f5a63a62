using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.Messaging.Storage;

/// <summary>How message text is put on the wire; the names match host.json <c>extensions.queues.messageEncoding</c>.</summary>
public enum QueueMessageEncoding
{
    /// <summary>UTF-8 bytes, base64-encoded: what the Functions queue trigger and output binding expect by default.</summary>
    Base64,

    /// <summary>The text as it is (it must consist of characters that XML allows).</summary>
    None,
}

/// <summary>A received message; it stays on the queue, invisible, until deleted or its visibility timeout ends.</summary>
public sealed record QueueMessage
{
    public required string Id { get; init; }
    public required string PopReceipt { get; init; }
    public required long DequeueCount { get; init; }
    public required DateTimeOffset InsertionTime { get; init; }
    public required DateTimeOffset ExpirationTime { get; init; }
    public required DateTimeOffset NextVisibleTime { get; init; }

    /// <summary>The decoded text; the text as it was on the wire when <see cref="DecodeError"/> is set.</summary>
    public required string Text { get; init; }

    /// <summary>Why the text could not be decoded (the Functions host would poison such a message), or null.</summary>
    public string? DecodeError { get; init; }
}

/// <summary>A message seen by a peek: it stays visible and its dequeue count is unchanged.</summary>
public sealed record PeekedQueueMessage
{
    public required string Id { get; init; }
    public required long DequeueCount { get; init; }
    public required DateTimeOffset InsertionTime { get; init; }
    public required DateTimeOffset ExpirationTime { get; init; }

    /// <inheritdoc cref="QueueMessage.Text"/>
    public required string Text { get; init; }

    /// <inheritdoc cref="QueueMessage.DecodeError"/>
    public string? DecodeError { get; init; }
}

/// <summary>What the service answers to a sent message.</summary>
public sealed record SentQueueMessage
{
    public required string Id { get; init; }
    public required string PopReceipt { get; init; }
    public required DateTimeOffset InsertionTime { get; init; }
    public required DateTimeOffset ExpirationTime { get; init; }
    public required DateTimeOffset NextVisibleTime { get; init; }
}

/// <summary>The new pop receipt after a visibility update; the old one no longer deletes the message.</summary>
public sealed record QueueMessageVisibility
{
    public required string PopReceipt { get; init; }
    public required DateTimeOffset NextVisibleTime { get; init; }
}

/// <summary>One storage queue, speaking the same message encoding as the Functions queue trigger by default.</summary>
public sealed class QueueClient
{
    /// <summary>The most messages one receive or peek may return.</summary>
    public const int MaxMessagesPerRequest = 32;

    /// <summary>The storage limit for one message as sent (after encoding).</summary>
    public const int MaxMessageBytes = 64 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromDays(7);

    private readonly HttpPipeline _pipeline;
    private readonly Uri _messagesUri;

    internal QueueClient(HttpPipeline pipeline, Uri queueEndpoint, string queueName, QueueMessageEncoding encoding)
    {
        StorageRest.ValidateResourceName(queueName, "queue");
        _pipeline = pipeline;
        Name = queueName;
        Encoding = encoding;
        Uri = StorageRest.Child(queueEndpoint, queueName);
        _messagesUri = StorageRest.Child(Uri, "messages");
    }

    public string Name { get; }

    public Uri Uri { get; }

    public QueueMessageEncoding Encoding { get; }

    /// <returns>True when this call created the queue, false when it already existed.</returns>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Put, Uri);
        // 204: the queue exists with the same (empty) metadata; 409: it exists with other metadata.
        var response = await StorageRest.SendAsync(_pipeline, message, [201, 204, 409], cancellationToken);
        if (response.Status == 409 && StorageRest.ErrorCode(response) != "QueueAlreadyExists")
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response.Status == 201;
    }

    /// <param name="text">The message; at most 64 KiB once encoded.</param>
    /// <param name="visibilityDelay">How long the message stays invisible after it is added (0 to 7 days).</param>
    /// <param name="timeToLive">
    /// How long the message lives; null for the service default of 7 days, <see cref="Timeout.InfiniteTimeSpan"/> for ever.
    /// </param>
    public async Task<SentQueueMessage> SendAsync(
        string text,
        TimeSpan? visibilityDelay = null,
        TimeSpan? timeToLive = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Post, _messagesUri);
        if (visibilityDelay is TimeSpan delay)
        {
            message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(delay, TimeSpan.Zero, nameof(visibilityDelay)));
        }

        if (timeToLive is TimeSpan ttl)
        {
            message.Request.Uri.AppendQuery("messagettl", ttl == Timeout.InfiniteTimeSpan
                ? "-1"
                : Seconds(ttl, TimeSpan.FromSeconds(1), nameof(timeToLive), TimeSpan.MaxValue));
        }

        SetMessageBody(message.Request, text);

        var response = await StorageRest.SendAsync(_pipeline, message, [201], cancellationToken);
        var sent = StorageRest.ParseXml(response).Element("QueueMessage")
            ?? throw new InvalidDataException("The Put Message response has no <QueueMessage>.");
        return new SentQueueMessage
        {
            Id = StorageRest.Required(sent, "MessageId"),
            PopReceipt = StorageRest.Required(sent, "PopReceipt"),
            InsertionTime = StorageRest.RequiredDate(sent, "InsertionTime"),
            ExpirationTime = StorageRest.RequiredDate(sent, "ExpirationTime"),
            NextVisibleTime = StorageRest.RequiredDate(sent, "TimeNextVisible"),
        };
    }

    /// <summary>Takes up to <paramref name="maxMessages"/> visible messages and hides them for the visibility timeout.</summary>
    /// <param name="visibilityTimeout">1 second to 7 days; null for the service default of 30 seconds.</param>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(
        int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
    {
        using var message = CreateGetMessages(maxMessages);
        if (visibilityTimeout is TimeSpan timeout)
        {
            message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(timeout, TimeSpan.FromSeconds(1), nameof(visibilityTimeout)));
        }

        var response = await StorageRest.SendAsync(_pipeline, message, [200], cancellationToken);
        return StorageRest.ParseXml(response).Elements("QueueMessage").Select(m =>
        {
            var (text, error) = Decode(StorageRest.Required(m, "MessageText"));
            return new QueueMessage
            {
                Id = StorageRest.Required(m, "MessageId"),
                PopReceipt = StorageRest.Required(m, "PopReceipt"),
                DequeueCount = long.Parse(StorageRest.Required(m, "DequeueCount"), CultureInfo.InvariantCulture),
                InsertionTime = StorageRest.RequiredDate(m, "InsertionTime"),
                ExpirationTime = StorageRest.RequiredDate(m, "ExpirationTime"),
                NextVisibleTime = StorageRest.RequiredDate(m, "TimeNextVisible"),
                Text = text,
                DecodeError = error,
            };
        }).ToList();
    }

    /// <summary>Looks at up to <paramref name="maxMessages"/> visible messages without taking them.</summary>
    public async Task<IReadOnlyList<PeekedQueueMessage>> PeekAsync(int maxMessages = 1, CancellationToken cancellationToken = default)
    {
        using var message = CreateGetMessages(maxMessages);
        message.Request.Uri.AppendQuery("peekonly", "true");
        var response = await StorageRest.SendAsync(_pipeline, message, [200], cancellationToken);
        return StorageRest.ParseXml(response).Elements("QueueMessage").Select(m =>
        {
            var (text, error) = Decode(StorageRest.Required(m, "MessageText"));
            return new PeekedQueueMessage
            {
                Id = StorageRest.Required(m, "MessageId"),
                DequeueCount = long.Parse(StorageRest.Required(m, "DequeueCount"), CultureInfo.InvariantCulture),
                InsertionTime = StorageRest.RequiredDate(m, "InsertionTime"),
                ExpirationTime = StorageRest.RequiredDate(m, "ExpirationTime"),
                Text = text,
                DecodeError = error,
            };
        }).ToList();
    }

    /// <returns>
    /// False when the message is gone or the pop receipt is stale (another receiver took it after its timeout ended).
    /// </returns>
    public async Task<bool> DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessageRequest(RequestMethod.Delete, messageId, popReceipt);
        var response = await StorageRest.SendAsync(_pipeline, message, [204, 400, 404], cancellationToken);
        // As the Functions host does: a stale receipt means another receiver owns the message now.
        var code = StorageRest.ErrorCode(response);
        if ((response.Status == 404 && code != "MessageNotFound") || (response.Status == 400 && code != "PopReceiptMismatch"))
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response.Status == 204;
    }

    /// <summary>
    /// Hides a received message for <paramref name="visibilityTimeout"/> from now (0 makes it visible at once),
    /// optionally replacing its text.
    /// </summary>
    public async Task<QueueMessageVisibility> UpdateVisibilityAsync(
        string messageId,
        string popReceipt,
        TimeSpan visibilityTimeout,
        string? newText = null,
        CancellationToken cancellationToken = default)
    {
        using var message = CreateMessageRequest(RequestMethod.Put, messageId, popReceipt);
        message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(visibilityTimeout, TimeSpan.Zero, nameof(visibilityTimeout)));
        if (newText is not null)
        {
            SetMessageBody(message.Request, newText);
        }

        var response = await StorageRest.SendAsync(_pipeline, message, [204], cancellationToken);
        return new QueueMessageVisibility
        {
            PopReceipt = StorageRest.RequiredHeader(response, "x-ms-popreceipt"),
            NextVisibleTime = StorageRest.ParseDate(StorageRest.RequiredHeader(response, "x-ms-time-next-visible")),
        };
    }

    /// <summary>The service's estimate of the messages in the queue, visible or not.</summary>
    public async Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default)
    {
        using var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Get, Uri);
        message.Request.Uri.AppendQuery("comp", "metadata");
        var response = await StorageRest.SendAsync(_pipeline, message, [200], cancellationToken);
        return int.Parse(
            StorageRest.RequiredHeader(response, "x-ms-approximate-messages-count"), CultureInfo.InvariantCulture);
    }

    private HttpMessage CreateGetMessages(int maxMessages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, MaxMessagesPerRequest);
        var message = StorageRest.CreateMessage(_pipeline, RequestMethod.Get, _messagesUri);
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture));
        return message;
    }

    private HttpMessage CreateMessageRequest(RequestMethod method, string messageId, string popReceipt)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        var message = StorageRest.CreateMessage(
            _pipeline, method, StorageRest.Child(_messagesUri, Uri.EscapeDataString(messageId)));
        message.Request.Uri.AppendQuery("popreceipt", popReceipt);
        return message;
    }

    private void SetMessageBody(Request request, string text)
    {
        // XElement escapes what XML needs escaped (&, <, >).
        var body = new XElement("QueueMessage", new XElement("MessageText", Encode(text)));
        request.Headers.SetValue(HttpHeader.Names.ContentType, "application/xml");
        request.Content = RequestContent.Create(System.Text.Encoding.UTF8.GetBytes(body.ToString(SaveOptions.DisableFormatting)));
    }

    private string Encode(string text)
    {
        if (Encoding == QueueMessageEncoding.Base64)
        {
            var encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
            return encoded.Length <= MaxMessageBytes
                ? encoded
                : throw new ArgumentException(
                    $"The message is {encoded.Length} bytes once base64-encoded; queues take at most {MaxMessageBytes}.", nameof(text));
        }

        try
        {
            XmlConvert.VerifyXmlChars(text);
        }
        catch (XmlException ex)
        {
            throw new ArgumentException(
                $"With encoding None the text must contain only characters XML allows ({ex.Message}); use Base64.",
                nameof(text), ex);
        }

        int size = System.Text.Encoding.UTF8.GetByteCount(text);
        return size <= MaxMessageBytes
            ? text
            : throw new ArgumentException($"The message is {size} bytes; queues take at most {MaxMessageBytes}.", nameof(text));
    }

    private (string Text, string? Error) Decode(string wireText)
    {
        if (Encoding == QueueMessageEncoding.None)
        {
            return (wireText, null);
        }

        var bytes = new byte[wireText.Length];
        if (!Convert.TryFromBase64String(wireText, bytes, out int written))
        {
            return (wireText, "The message text is not valid base64.");
        }

        try
        {
            return (StrictUtf8.GetString(bytes, 0, written), null);
        }
        catch (DecoderFallbackException)
        {
            return (wireText, "The base64 message text does not decode to UTF-8 text.");
        }
    }

    private static string Seconds(TimeSpan value, TimeSpan min, string name) =>
        Seconds(value, min, name, MaxVisibilityTimeout);

    private static string Seconds(TimeSpan value, TimeSpan min, string name, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Must be between {min} and {max}.");
        }

        // The service takes whole seconds; round up so a delay is never shorter than asked.
        return ((long)Math.Ceiling(value.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }
}
