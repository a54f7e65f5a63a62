using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.Messaging.Storage;

/// <summary>The request/response plumbing the blob and queue clients share.</summary>
internal static partial class StorageRest
{
    public static HttpMessage CreateMessage(HttpPipeline pipeline, RequestMethod method, Uri uri)
    {
        var message = pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(uri);
        message.Request.Headers.SetValue("x-ms-version", StorageAccount.ServiceVersion);
        return message;
    }

    /// <summary>Sends and returns the response when its status is one of <paramref name="expected"/>.</summary>
    public static async Task<Response> SendAsync(
        HttpPipeline pipeline, HttpMessage message, int[] expected, CancellationToken cancellationToken)
    {
        await pipeline.SendAsync(message, cancellationToken);
        var response = message.Response;
        if (Array.IndexOf(expected, response.Status) < 0)
        {
            throw StorageRequestException.FromResponse(response);
        }

        return response;
    }

    public static string? ErrorCode(Response response) =>
        response.Headers.TryGetValue("x-ms-error-code", out var code) ? code : null;

    public static XElement ParseXml(Response response) =>
        XDocument.Load(response.Content.ToStream()).Root
        ?? throw new InvalidDataException("The storage service answered with an empty XML document.");

    /// <summary>Parses the RFC 1123 dates that storage uses in headers and XML bodies.</summary>
    public static DateTimeOffset ParseDate(string text) =>
        DateTimeOffset.ParseExact(text, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public static DateTimeOffset RequiredDate(XElement parent, string name) =>
        ParseDate(Required(parent, name));

    public static string Required(XElement parent, string name) =>
        parent.Element(name)?.Value
        ?? throw new InvalidDataException($"The storage response has no <{name}> in <{parent.Name}>.");

    public static string RequiredHeader(Response response, string name) =>
        response.Headers.TryGetValue(name, out var value)
            ? value
            : throw new InvalidDataException($"The storage response has no {name} header.");

    public static Uri Child(Uri parent, string escapedPath) =>
        new(parent.AbsoluteUri.TrimEnd('/') + "/" + escapedPath);

    /// <summary>Container and queue names: 3-63 lower-case letters, digits and single inner hyphens.</summary>
    public static void ValidateResourceName(string name, string kind)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!ResourceName().IsMatch(name) || name.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid {kind} name: use 3-63 lower-case letters, digits and single hyphens, "
                + "starting and ending with a letter or digit.", nameof(name));
        }
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")]
    private static partial Regex ResourceName();
}
