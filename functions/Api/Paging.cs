using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.WebUtilities;
using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>
/// Where the next page of a list starts: the sort key (a time) and the id of the last row of the page. Callers see it
/// only as an opaque string (base64url of "ticks.id") and send it back unchanged as <c>cursor</c>.
/// </summary>
internal readonly record struct PageCursor(DateTimeOffset At, string Id)
{
    // Room for Table storage's continuation tokens, which the delivery attempts carry as the id.
    private const int MaxLength = 1000;

    public string Format() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{At.UtcTicks}.{Id}")));

    public static bool TryParse(string? text, out PageCursor cursor)
    {
        cursor = default;
        if (text is null || text.Length > MaxLength || !Base64Url.IsValid(text))
        {
            return false;
        }
        var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text));
        var dot = decoded.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == decoded.Length - 1
            || !long.TryParse(decoded.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }
        cursor = new PageCursor(new DateTimeOffset(ticks, TimeSpan.Zero), decoded[(dot + 1)..]);
        return true;
    }
}

/// <summary>One page of a list: the rows, the cursor of the next page and the link that fetches it (null on the last page).</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? Next, string? NextLink);

/// <summary>
/// The one way lists page: <c>limit</c> rows (default and maximum per list) after <c>cursor</c>, and a <c>next</c>
/// cursor plus a <c>Link: &lt;…&gt;; rel="next"</c> header with the same query and the new cursor.
/// </summary>
internal static class Paging
{
    public const string InvalidCursor = "cursor must be the 'next' value of a previous page of this list, unchanged";

    /// <summary>Checks <c>cursor</c> and <c>limit</c>; null and the values, or the problem to answer with.</summary>
    public static IResult? Check(string? cursor, string? limit, int defaultLimit, int maxLimit, out PageCursor? after, out int rows)
    {
        after = null;
        if (QueryValues.Limit(limit, defaultLimit, maxLimit, out rows) is { } badLimit)
        {
            return Problems.Invalid("limit", badLimit);
        }
        if (cursor is null)
        {
            return null;
        }
        if (!PageCursor.TryParse(cursor, out var parsed))
        {
            return Problems.Invalid("cursor", InvalidCursor);
        }
        after = parsed;
        return null;
    }

    /// <summary>
    /// <see cref="Check"/> plus a time range: <c>from</c> and <c>to</c> in ISO 8601, from not after to. The request asks for
    /// one row more than <paramref name="rows"/>, so <see cref="Build"/> knows whether a next page exists.
    /// </summary>
    public static IResult? CheckRange(string? from, string? to, string? cursor, string? limit, int defaultLimit, int maxLimit,
        out PageRequest page, out int rows)
    {
        page = new PageRequest { Limit = 1 };
        if (QueryValues.Time(from, "from", out var fromTime) is { } badFrom)
        {
            rows = 0;
            return Problems.Invalid("from", badFrom);
        }
        if (QueryValues.Time(to, "to", out var toTime) is { } badTo)
        {
            rows = 0;
            return Problems.Invalid("to", badTo);
        }
        if (fromTime > toTime)
        {
            rows = 0;
            return Problems.Invalid("from", "from must not be after to");
        }
        if (Check(cursor, limit, defaultLimit, maxLimit, out var after, out rows) is { } problem)
        {
            return problem;
        }
        page = new PageRequest { From = fromTime, To = toTime, AfterAt = after?.At, AfterId = after?.Id, Limit = rows + 1 };
        return null;
    }

    /// <summary>A 400 naming <c>cursor</c> when the cursor's row id is not of the list's id type (a cursor of another list, or made up).</summary>
    public static IResult? CheckId<TId>(PageRequest page) where TId : IParsable<TId> =>
        page.AfterId is null || TId.TryParse(page.AfterId, CultureInfo.InvariantCulture, out _) ? null : Problems.Invalid("cursor", InvalidCursor);

    /// <summary>
    /// The page of <paramref name="rows"/> (fetched with one row more than the limit, so a next page is known without a
    /// count), its cursor taken from the last row kept, and the Link header. <paramref name="pinned"/> query values
    /// replace the request's in the link: a range that defaults to "the last hour" must not move between pages.
    /// </summary>
    public static Page<T> Build<T>(HttpContext http, IReadOnlyList<T> rows, int limit, Func<T, PageCursor> cursorOf,
        IReadOnlyDictionary<string, string>? pinned = null)
    {
        if (rows.Count <= limit)
        {
            return new Page<T>(rows, null, null);
        }
        var items = rows.Take(limit).ToList();
        var next = cursorOf(items[^1]).Format();
        return new Page<T>(items, next, AnnounceNext(http, next, pinned));
    }

    /// <summary>The link of the next page (<see cref="NextLink"/>), also sent as the <c>Link: &lt;…&gt;; rel="next"</c> header.</summary>
    public static string AnnounceNext(HttpContext http, string next, IReadOnlyDictionary<string, string>? pinned = null)
    {
        var link = NextLink(http, next, pinned);
        http.Response.Headers.Append("Link", $"<{link}>; rel=\"next\"");
        return link;
    }

    /// <summary>This request's path and query with <c>cursor</c> set to <paramref name="next"/> (and the pinned values).</summary>
    public static string NextLink(HttpContext http, string next, IReadOnlyDictionary<string, string>? pinned = null)
    {
        pinned ??= new Dictionary<string, string>();
        var query = QueryHelpers.ParseQuery(http.Request.QueryString.Value);
        var pairs = query.Where(q => !string.Equals(q.Key, "cursor", StringComparison.OrdinalIgnoreCase)
                && !pinned.Keys.Contains(q.Key, StringComparer.OrdinalIgnoreCase))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Concat(pinned.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)))
            .Append(new KeyValuePair<string, string?>("cursor", next));
        return http.Request.PathBase + http.Request.Path + new QueryBuilder(pairs!).ToQueryString();
    }

    /// <summary>from and to as the link of the next page should carry them: the range the first page resolved.</summary>
    public static IReadOnlyDictionary<string, string> Range(DateTimeOffset from, DateTimeOffset to) => new Dictionary<string, string>
    {
        ["from"] = from.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        ["to"] = to.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// ETags of answers a client polls: a hash of the JSON it would get. If-None-Match with that tag gives 304 and no body;
/// the tag is sent either way.
/// </summary>
internal static class ETags
{
    public static IResult Json<T>(HttpContext http, T value)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions.Web);
        return IsNotModified(http, Of(body)) ? NotModified : TypedResults.Bytes(body, "application/json");
    }

    public static IResult NotModified { get; } = TypedResults.StatusCode(StatusCodes.Status304NotModified);

    /// <summary>Sends <paramref name="etag"/>; true when the request's If-None-Match already has it (answer 304).</summary>
    public static bool IsNotModified(HttpContext http, string etag)
    {
        http.Response.Headers.ETag = etag;
        return Matches(http.Request.Headers.IfNoneMatch.ToString(), etag);
    }

    /// <summary>A strong tag of the bytes: the first 16 bytes of their SHA-256, hex, quoted.</summary>
    public static string Of(ReadOnlySpan<byte> content) => FromSha256(SHA256.HashData(content));

    /// <summary>The tag of content whose SHA-256 the caller computed (for content hashed as it is produced).</summary>
    public static string FromSha256(ReadOnlySpan<byte> sha256) => $"\"{Convert.ToHexStringLower(sha256[..16])}\"";

    /// <summary>True when an If-None-Match or If-Match header value lists <paramref name="etag"/> or is "*".</summary>
    public static bool Matches(string header, string etag) =>
        header.Length > 0 && header.Split(',').Any(tag => tag.Trim() == etag || tag.Trim() == "*");
}
