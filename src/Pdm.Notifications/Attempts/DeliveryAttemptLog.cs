using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Data.Tables.Models;
using Pdm.Webhooks;

namespace Pdm.Notifications.Attempts;

/// <summary>How an event reached (or did not reach) a subscriber.</summary>
public enum DeliveryChannel
{
    Webhook,
    Email,
}

/// <summary>One attempt of one event to one subscription, as the log keeps it.</summary>
/// <param name="Result">What the attempt did; for e-mail, <see cref="WebhookAttemptResult.StatusCode"/> is the SMTP reply code.</param>
public sealed record DeliveryAttempt(string Tenant, string SubscriptionId, string EventId, int Attempt, DeliveryChannel Channel,
    WebhookAttemptResult Result);

/// <summary>A page of attempts, newest first; pass <see cref="ContinuationToken"/> back for the next page (null: no more).</summary>
public sealed record DeliveryAttemptPage(IReadOnlyList<DeliveryAttempt> Attempts, string? ContinuationToken);

/// <summary>
/// The log of every delivery attempt, in Azure Table storage (Azurite locally): append-only, one partition per
/// (tenant, subscription). Each attempt is written as two rows in one entity-group transaction, so both exist or neither:
/// <list type="bullet">
/// <item><c>t|{inverted ticks}|{event}|{attempt}</c>: the subscription's attempts sort newest first, so a page is a
/// range read from the start of the partition;</item>
/// <item><c>e|{event}|{attempt}|{inverted ticks}</c>: one event's attempts are a range read by prefix.</item>
/// </list>
/// Ids are letters, digits, '_' and '-' (as the webhook library requires), so '|' cannot occur in them and a prefix
/// matches exactly one event. The tenant is part of every key: no query of one tenant can read another's rows.
/// </summary>
public sealed class DeliveryAttemptLog
{
    public const string DefaultTableName = "deliveryattempts";

    /// <summary>A string property holds at most 64 KiB of UTF-16, so 32 Ki chars; longer texts are cut there.</summary>
    public const int MaxTextChars = 32 * 1024;

    /// <summary>The most a page may ask for: one Table query returns at most 1000 entities.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Azure Table storage's limit on the operations of one entity-group transaction.</summary>
    private const int MaxRowsPerTransaction = 100;

    private const string TimePrefix = "t|";
    private const string EventPrefix = "e|";

    private readonly TableClient _table;

    public DeliveryAttemptLog(TableClient table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _table = table;
    }

    /// <summary>Creates the table if it is missing; call once at start (idempotent).</summary>
    public async Task CreateTableIfNotExistsAsync(CancellationToken cancellationToken) =>
        await _table.CreateIfNotExistsAsync(cancellationToken);

    /// <summary>
    /// Appends one attempt. A transaction the SDK retried after its answer was lost finds its rows already there; that
    /// counts as done, so an append is safe to repeat.
    /// </summary>
    /// <exception cref="ArgumentException">An id is not a token, or the attempt number is below 1; the message names it.</exception>
    public async Task AppendAsync(DeliveryAttempt attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        try
        {
            await _table.SubmitTransactionAsync(Rows(attempt), cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.ErrorCode == TableErrorCode.EntityAlreadyExists)
        {
            // The same keys mean the same attempt (same instant, event and number): it is already logged.
        }
    }

    /// <summary>
    /// Appends several attempts of one subscription in as few entity-group transactions as the service allows (100
    /// rows, so 50 attempts, each); a group that finds one of its attempts already logged is appended one by one.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<DeliveryAttempt> attempts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        if (attempts.Select(a => (a.Tenant, a.SubscriptionId)).Distinct().Count() > 1)
        {
            throw new ArgumentException("Attempts appended together must be of one subscription (one partition).", nameof(attempts));
        }
        foreach (var group in attempts.Chunk(MaxRowsPerTransaction / 2))
        {
            try
            {
                await _table.SubmitTransactionAsync([.. group.SelectMany(Rows)], cancellationToken);
            }
            catch (TableTransactionFailedException ex) when (ex.ErrorCode == TableErrorCode.EntityAlreadyExists)
            {
                foreach (var attempt in group)
                {
                    await AppendAsync(attempt, cancellationToken);
                }
            }
        }
    }

    /// <summary>An attempt's two rows: by time and by event.</summary>
    private static TableTransactionAction[] Rows(DeliveryAttempt attempt)
    {
        Validate(attempt);
        var partition = PartitionKey(attempt.Tenant, attempt.SubscriptionId);
        var inverted = InvertedTicks(attempt.Result.AttemptedAt);
        var number = attempt.Attempt.ToString("D4", CultureInfo.InvariantCulture);
        var byTime = ToEntity(attempt, partition, $"{TimePrefix}{inverted}|{attempt.EventId}|{number}");
        var byEvent = ToEntity(attempt, partition, $"{EventPrefix}{attempt.EventId}|{number}|{inverted}");
        return [new TableTransactionAction(TableTransactionActionType.Add, byTime), new TableTransactionAction(TableTransactionActionType.Add, byEvent)];
    }

    /// <summary>The subscription's attempts, newest first, <paramref name="pageSize"/> at a time.</summary>
    /// <param name="continuationToken">Null for the first page, then the previous page's token.</param>
    /// <exception cref="ArgumentException">A bad id or page size; a token this log did not hand out.</exception>
    public async Task<DeliveryAttemptPage> ReadSubscriptionAsync(string tenant, string subscriptionId, int pageSize,
        string? continuationToken, CancellationToken cancellationToken)
    {
        RequireToken(tenant, "tenant");
        RequireToken(subscriptionId, "subscriptionId");
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentException($"Page size {pageSize} must be 1 to {MaxPageSize}.", nameof(pageSize));
        }

        var filter = RangeFilter(PartitionKey(tenant, subscriptionId), TimePrefix);
        // The SDK's token is the service's next partition and row keys (opaque, printable) joined by one space.
        var sdkToken = continuationToken is null ? null : DecodeToken(continuationToken) is { } decoded && LooksLikeSdkToken(decoded) ? decoded
            : throw new ArgumentException("Continuation token is not one this log handed out.", nameof(continuationToken));
        await foreach (var page in _table.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: cancellationToken)
            .AsPages(sdkToken, pageSize))
        {
            // The service may end a page early (it says so with a token); the caller follows the token either way.
            return new DeliveryAttemptPage([.. page.Values.Select(FromEntity)],
                page.ContinuationToken is { Length: > 0 } next ? EncodeToken(next) : null);
        }
        return new DeliveryAttemptPage([], null);
    }

    /// <summary>Every attempt of one event to one subscription, by attempt number (repeats of a number by time).</summary>
    public async Task<IReadOnlyList<DeliveryAttempt>> ReadEventAsync(string tenant, string subscriptionId, string eventId,
        CancellationToken cancellationToken)
    {
        RequireToken(tenant, "tenant");
        RequireToken(subscriptionId, "subscriptionId");
        RequireToken(eventId, "eventId");
        var filter = RangeFilter(PartitionKey(tenant, subscriptionId), $"{EventPrefix}{eventId}|");
        var attempts = new List<DeliveryAttempt>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            attempts.Add(FromEntity(entity));
        }
        // Row keys order by attempt, then newest first within a number; an operator reads a retry story oldest first.
        return [.. attempts.OrderBy(a => a.Attempt).ThenBy(a => a.Result.AttemptedAt)];
    }

    /// <summary>Cuts <paramref name="text"/> to <see cref="MaxTextChars"/>, never inside a surrogate pair.</summary>
    internal static (string? Text, bool Cut) Cap(string? text)
    {
        if (text is null || text.Length <= MaxTextChars)
        {
            return (text, false);
        }
        var length = char.IsHighSurrogate(text[MaxTextChars - 1]) ? MaxTextChars - 1 : MaxTextChars;
        return (text[..length], true);
    }

    internal static string PartitionKey(string tenant, string subscriptionId) => $"{tenant}|{subscriptionId}";

    private static string InvertedTicks(DateTimeOffset at) =>
        (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>Rows of the partition whose key starts with <paramref name="prefix"/> ('|' + 1 is '}').</summary>
    private static string RangeFilter(string partition, string prefix) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {prefix[..^1] + "}"}");

    private static TableEntity ToEntity(DeliveryAttempt attempt, string partition, string row)
    {
        var result = attempt.Result;
        var (excerpt, excerptCut) = Cap(result.ResponseExcerpt);
        var (error, _) = Cap(result.Error);
        return new TableEntity(partition, row)
        {
            ["Tenant"] = attempt.Tenant,
            ["SubscriptionId"] = attempt.SubscriptionId,
            ["EventId"] = attempt.EventId,
            ["Attempt"] = attempt.Attempt,
            ["Channel"] = attempt.Channel.ToString(),
            ["Outcome"] = result.Outcome.ToString(),
            ["AttemptedAt"] = result.AttemptedAt,
            ["LatencyMs"] = result.Latency.TotalMilliseconds,
            ["StatusCode"] = result.StatusCode,
            ["ResponseExcerpt"] = excerpt,
            ["ResponseTruncated"] = result.ResponseTruncated || excerptCut,
            ["Error"] = error,
            ["RetryAfterSeconds"] = result.RetryAfter?.TotalSeconds,
        };
    }

    private static DeliveryAttempt FromEntity(TableEntity entity)
    {
        string Text(string name) => entity.GetString(name)
            ?? throw new InvalidDataException($"Attempt row {entity.PartitionKey}/{entity.RowKey} has no {name}.");
        TEnum Enum<TEnum>(string name) where TEnum : struct, Enum => System.Enum.TryParse<TEnum>(Text(name), out var value)
            ? value
            : throw new InvalidDataException($"Attempt row {entity.PartitionKey}/{entity.RowKey}: {name} '{Text(name)}' is unknown.");

        var result = new WebhookAttemptResult(
            Enum<WebhookAttemptOutcome>("Outcome"),
            entity.GetDateTimeOffset("AttemptedAt") ?? throw new InvalidDataException($"Attempt row {entity.RowKey} has no AttemptedAt."),
            TimeSpan.FromMilliseconds(entity.GetDouble("LatencyMs") ?? 0),
            entity.GetInt32("StatusCode"),
            entity.GetString("ResponseExcerpt"),
            entity.GetBoolean("ResponseTruncated") ?? false,
            entity.GetString("Error"),
            entity.GetDouble("RetryAfterSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
        return new DeliveryAttempt(Text("Tenant"), Text("SubscriptionId"), Text("EventId"), entity.GetInt32("Attempt") ?? 0,
            Enum<DeliveryChannel>("Channel"), result);
    }

    private static void Validate(DeliveryAttempt attempt)
    {
        RequireToken(attempt.Tenant, "tenant");
        RequireToken(attempt.SubscriptionId, "subscriptionId");
        RequireToken(attempt.EventId, "eventId");
        if (attempt.Attempt is < 1 or > 9999)
        {
            throw new ArgumentException($"Delivery attempt number {attempt.Attempt} must be 1 to 9999.", nameof(attempt));
        }
        ArgumentNullException.ThrowIfNull(attempt.Result);
    }

    /// <summary>The webhook library's id rule: 1 to 128 letters, digits, '_' or '-' (so never '|', '/', '#' or '?').</summary>
    private static void RequireToken(string value, string field)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 128 || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            throw new ArgumentException($"Delivery attempt {field} '{value}' must be 1 to 128 letters, digits, '_' or '-'.", field);
        }
    }

    // The SDK's token is "next partition key + next row key"; callers get it as opaque base64url text.
    private static string EncodeToken(string sdkToken) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(sdkToken));

    private static bool LooksLikeSdkToken(string token) =>
        token.Split(' ') is [{ Length: > 0 } partition, { Length: > 0 } row] && $"{partition}{row}".All(c => c is > ' ' and <= '~');

    private static string? DecodeToken(string token)
    {
        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
