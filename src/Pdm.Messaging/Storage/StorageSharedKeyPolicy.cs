using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.Messaging.Storage;

/// <summary>
/// Signs each request (each retry too, since the date changes) with the account key, per
/// "Authorize with Shared Key" for the Blob and Queue services (version 2009-09-19 and later).
/// </summary>
public sealed class StorageSharedKeyPolicy : HttpPipelineSynchronousPolicy
{
    private readonly string _accountName;
    private readonly byte[] _key;
    private readonly TimeProvider _timeProvider;

    public StorageSharedKeyPolicy(string accountName, string accountKey, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(accountKey);
        _accountName = accountName;
        _key = Convert.FromBase64String(accountKey);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var request = message.Request;
        request.Headers.SetValue("x-ms-date",
            _timeProvider.GetUtcNow().ToString("R", CultureInfo.InvariantCulture));
        var signature = ComputeSignature(BuildStringToSign(request, _accountName), _key);
        request.Headers.SetValue(HttpHeader.Names.Authorization, $"SharedKey {_accountName}:{signature}");
    }

    public static string ComputeSignature(string stringToSign, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(stringToSign);
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    public static string BuildStringToSign(Request request, string accountName)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(accountName);

        // Since version 2015-02-21 a zero Content-Length is signed as the empty string.
        string contentLength = request.Content is not null
            && request.Content.TryComputeLength(out long length) && length > 0
            ? length.ToString(CultureInfo.InvariantCulture)
            : "";

        var builder = new StringBuilder();
        builder.Append(request.Method.Method).Append('\n')
            .Append(Header(request, "Content-Encoding")).Append('\n')
            .Append(Header(request, "Content-Language")).Append('\n')
            .Append(contentLength).Append('\n')
            .Append(Header(request, "Content-MD5")).Append('\n')
            .Append(Header(request, HttpHeader.Names.ContentType)).Append('\n')
            .Append('\n') // Date: x-ms-date is always set, and then Date is signed empty.
            .Append(Header(request, HttpHeader.Names.IfModifiedSince)).Append('\n')
            .Append(Header(request, HttpHeader.Names.IfMatch)).Append('\n')
            .Append(Header(request, HttpHeader.Names.IfNoneMatch)).Append('\n')
            .Append(Header(request, HttpHeader.Names.IfUnmodifiedSince)).Append('\n')
            .Append(Header(request, HttpHeader.Names.Range)).Append('\n');
        AppendCanonicalizedHeaders(builder, request);
        AppendCanonicalizedResource(builder, request.Uri.ToUri(), accountName);
        return builder.ToString();
    }

    private static string Header(Request request, string name) =>
        request.Headers.TryGetValue(name, out var value) ? value : "";

    private static void AppendCanonicalizedHeaders(StringBuilder builder, Request request)
    {
        var headers = request.Headers
            .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            .Select(h => (Name: h.Name.ToLowerInvariant(), Value: h.Value.Trim()))
            .OrderBy(h => h.Name, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            builder.Append(name).Append(':').Append(value).Append('\n');
        }
    }

    private static void AppendCanonicalizedResource(StringBuilder builder, Uri uri, string accountName)
    {
        // The path as sent (still escaped); with path-style URIs (Azurite) it begins with the account name
        // again, which is what the service expects.
        builder.Append('/').Append(accountName).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");

        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return;
        }

        var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                int equals = pair.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? pair : pair[..equals];
                var value = equals < 0 ? "" : pair[(equals + 1)..];
                return (Name: Uri.UnescapeDataString(name).ToLowerInvariant(), Value: Uri.UnescapeDataString(value));
            })
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in parameters)
        {
            var values = group.Select(p => p.Value).Order(StringComparer.Ordinal);
            builder.Append('\n').Append(group.Key).Append(':').AppendJoin(',', values);
        }
    }
}
