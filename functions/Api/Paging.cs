using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.WebUtilities;

namespace Pdm.Functions.Api;

/// <summary>
/// Where the next page of a list starts: the sort key (a time) and the id of the last row of the page. Callers see it
/// only as an opaque string (base64url of "ticks.id") and send it back unchanged as <c>cursor</c>.
/// </summary>
internal readonly record struct PageCursor(DateTimeOffset At, string Id)
{
    private const int MaxLength = 200;

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
    /// The page of <paramref name="rows"/> (fetched with one row more than the limit, so a next page is known without a
    /// count), its cursor taken from the last row kept, and the Link header.
    /// </summary>
    public static Page<T> Build<T>(HttpContext http, IReadOnlyList<T> rows, int limit, Func<T, PageCursor> cursorOf)
    {
        if (rows.Count <= limit)
        {
            return new Page<T>(rows, null, null);
        }
        var items = rows.Take(limit).ToList();
        var next = cursorOf(items[^1]).Format();
        var link = NextLink(http, next);
        http.Response.Headers.Append("Link", $"<{link}>; rel=\"next\"");
        return new Page<T>(items, next, link);
    }

    /// <summary>This request's path and query with <c>cursor</c> set to <paramref name="next"/>.</summary>
    public static string NextLink(HttpContext http, string next)
    {
        var query = QueryHelpers.ParseQuery(http.Request.QueryString.Value);
        var pairs = query.Where(q => !string.Equals(q.Key, "cursor", StringComparison.OrdinalIgnoreCase))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new KeyValuePair<string, string?>("cursor", next));
        return http.Request.PathBase + http.Request.Path + new QueryBuilder(pairs!).ToQueryString();
    }
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
    public static string Of(ReadOnlySpan<byte> content) => $"\"{Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16))}\"";

    /// <summary>True when an If-None-Match or If-Match header value lists <paramref name="etag"/> or is "*".</summary>
    public static bool Matches(string header, string etag) =>
        header.Length > 0 && header.Split(',').Any(tag => tag.Trim() == etag || tag.Trim() == "*");
}
