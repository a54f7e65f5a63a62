using System.Xml;
using System.Xml.Linq;
using Azure;

namespace Pdm.Messaging.Storage;

/// <summary>
/// A storage request the service refused. <see cref="RequestFailedException.ErrorCode"/> is the storage error
/// code (for example <c>QueueNotFound</c>), <see cref="ServiceMessage"/> the service's own explanation.
/// </summary>
public sealed class StorageRequestException : RequestFailedException
{
    public StorageRequestException(int status, string? errorCode, string? serviceMessage, string? requestId)
        : base(status, Describe(status, errorCode, serviceMessage, requestId), errorCode, null)
    {
        ServiceMessage = serviceMessage;
        RequestId = requestId;
    }

    /// <summary>The Message element of the error body, when the service sent one.</summary>
    public string? ServiceMessage { get; }

    /// <summary>The x-ms-request-id header, for matching the service's logs.</summary>
    public string? RequestId { get; }

    internal static StorageRequestException FromResponse(Response response)
    {
        response.Headers.TryGetValue("x-ms-error-code", out var code);
        response.Headers.TryGetValue("x-ms-request-id", out var requestId);
        string? message = null;
        if (response.ContentStream is not null && response.Content.ToMemory().Length > 0)
        {
            // The body is XML for storage errors, but proxies and gateways may answer with anything else.
            try
            {
                var error = XDocument.Parse(response.Content.ToString()).Root;
                code ??= error?.Element("Code")?.Value;
                message = error?.Element("Message")?.Value;
            }
            catch (XmlException)
            {
                message = response.Content.ToString();
            }
        }

        return new StorageRequestException(response.Status, code, message ?? response.ReasonPhrase, requestId);
    }

    private static string Describe(int status, string? errorCode, string? serviceMessage, string? requestId)
    {
        var text = $"Storage request failed with {status} {errorCode ?? "(no error code)"}";
        if (!string.IsNullOrWhiteSpace(serviceMessage))
        {
            // The service appends "RequestId:...\nTime:..." lines; the first line is the explanation.
            text += ": " + serviceMessage.Split('\n')[0].Trim();
        }

        return requestId is null ? text : $"{text} (request id {requestId})";
    }
}
