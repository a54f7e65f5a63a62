using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Pdm.IotHub;

/// <summary>Retry, timeout and diagnostics settings of an <see cref="IotHubRegistryClient"/>.</summary>
public sealed class IotHubRegistryClientOptions : ClientOptions
{
    /// <summary>How long a shared access policy token lives; a new one is minted five minutes before it expires.</summary>
    public TimeSpan SasTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>
/// IoT Hub's device identity registry over its service REST API (<c>/devices/{id}?api-version=2021-04-12</c>),
/// authenticated with Entra ID (scope <see cref="TokenScope"/>) or a shared access policy with RegistryWrite.
/// </summary>
public sealed class IotHubRegistryClient : IDeviceIdentityRegistry, IEdgeDeviceRegistry
{
    public const string ApiVersion = "2021-04-12";
    public const string TokenScope = "https://iothubs.azure.net/.default";

    private const int KeyBytes = 32;
    private readonly Uri _endpoint;
    private readonly HttpPipeline _pipeline;

    /// <summary>
    /// Entra ID: the identity needs IoT Hub Registry Contributor (or IoT Hub Data Contributor). Azure.Core sends bearer
    /// tokens over https only.
    /// </summary>
    public IotHubRegistryClient(Uri endpoint, TokenCredential credential, IotHubRegistryClientOptions? options = null)
        : this(endpoint, new BearerTokenAuthenticationPolicy(credential ?? throw new ArgumentNullException(nameof(credential)), TokenScope),
            options ?? new IotHubRegistryClientOptions())
    {
    }

    /// <summary>A shared access policy (e.g. <c>registryReadWrite</c>); tokens are signed for <c>{host}/devices</c>.</summary>
    public IotHubRegistryClient(Uri endpoint, string policyName, string policyKey, IotHubRegistryClientOptions? options = null)
        : this(endpoint, policyName, policyKey, ResourceUriOf(endpoint), options)
    {
    }

    /// <summary>Tokens signed for <paramref name="hubHostName"/>'s devices, sent to <paramref name="endpoint"/> (another address of that hub).</summary>
    private IotHubRegistryClient(Uri endpoint, string policyName, string policyKey, string resourceUri, IotHubRegistryClientOptions? options)
        : this(endpoint, new SasPolicy(resourceUri, policyName, policyKey, options ?? new IotHubRegistryClientOptions()),
            options ?? new IotHubRegistryClientOptions())
    {
    }

    private IotHubRegistryClient(Uri endpoint, HttpPipelinePolicy authentication, IotHubRegistryClientOptions options)
    {
        _endpoint = CheckEndpoint(endpoint);
        _pipeline = HttpPipelineBuilder.Build(options, perCallPolicies: [], perRetryPolicies: [authentication],
            responseClassifier: new ResponseClassifier());
    }

    /// <summary>
    /// From a policy connection string: <c>HostName=..;SharedAccessKeyName=..;SharedAccessKey=..</c>. Requests go to
    /// <c>https://{HostName}</c>, or to <paramref name="endpoint"/> when given (the local stand-in); tokens are signed
    /// for <c>{HostName}/devices</c> either way.
    /// </summary>
    public static IotHubRegistryClient FromConnectionString(string connectionString, Uri? endpoint = null,
        IotHubRegistryClientOptions? options = null)
    {
        var parsed = IotHubConnectionString.Parse(connectionString);
        if (parsed.SharedAccessKeyName is null || parsed.DeviceId is not null)
        {
            throw new FormatException("The registry needs a shared access policy connection string (SharedAccessKeyName, no DeviceId).");
        }
        return new IotHubRegistryClient(endpoint ?? new Uri($"https://{parsed.HostName}"), parsed.SharedAccessKeyName,
            parsed.SharedAccessKey, $"{parsed.HostName}/devices", options);
    }

    /// <summary>
    /// Creates the device with new SAS keys (PUT without If-Match); when it exists already (409), replaces it
    /// unconditionally (<c>If-Match: "*"</c>) with new keys.
    /// </summary>
    public async Task<DeviceIdentity> CreateOrUpdateAsync(string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        var primaryKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
        var secondaryKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
        var body = DeviceBody(deviceId, primaryKey, secondaryKey);

        using (var create = Request(RequestMethod.Put, deviceId, body, ifMatchAny: false))
        {
            await _pipeline.SendAsync(create, cancellationToken);
            if (create.Response.Status != 409)
            {
                return ReadIdentity(Ensure(create.Response, 200, 201), deviceId, primaryKey);
            }
        }

        using var update = Request(RequestMethod.Put, deviceId, body, ifMatchAny: true);
        await _pipeline.SendAsync(update, cancellationToken);
        return ReadIdentity(Ensure(update.Response, 200, 201), deviceId, primaryKey);
    }

    /// <summary>The device and its primary key, or null when IoT Hub does not know it.</summary>
    public async Task<DeviceIdentity?> GetAsync(string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var message = Request(RequestMethod.Get, deviceId, body: null, ifMatchAny: false);
        await _pipeline.SendAsync(message, cancellationToken);
        return message.Response.Status == 404 ? null : ReadIdentity(Ensure(message.Response, 200), deviceId, fallbackKey: null);
    }

    public async Task DeleteAsync(string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var message = Request(RequestMethod.Delete, deviceId, body: null, ifMatchAny: true);
        await _pipeline.SendAsync(message, cancellationToken);
        if (message.Response.Status != 404)
        {
            Ensure(message.Response, 200, 204);
        }
    }

    /// <summary>
    /// The gateway's IoT Edge identity: created with new SAS keys and <c>capabilities.iotEdge = true</c> when IoT Hub does
    /// not know it; an existing edge device is left as it is (its keys keep working on the gateway); an existing device
    /// without the capability gets it, keeping its authentication, under the ETag it was read with.
    /// </summary>
    public async Task<EdgeDeviceIdentity> EnsureEdgeDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var read = Request(RequestMethod.Get, deviceId, body: null, ifMatchAny: false);
        await _pipeline.SendAsync(read, cancellationToken);
        if (read.Response.Status == 404)
        {
            var primaryKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
            var body = DeviceBody(deviceId, primaryKey, Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)), iotEdge: true);
            using var create = Request(RequestMethod.Put, deviceId, body, ifMatchAny: false);
            await _pipeline.SendAsync(create, cancellationToken);
            var created = ReadIdentity(Ensure(create.Response, 200, 201), deviceId, primaryKey);
            return new EdgeDeviceIdentity(created.DeviceId, created.PrimaryKey, EdgeDeviceChange.Created);
        }

        var existing = System.Text.Json.Nodes.JsonNode.Parse(Ensure(read.Response, 200).Content.ToString())!.AsObject();
        var key = existing["authentication"]?["symmetricKey"]?["primaryKey"]?.GetValue<string>();
        if (existing["capabilities"]?["iotEdge"]?.GetValue<bool>() == true)
        {
            return new EdgeDeviceIdentity(deviceId, key, EdgeDeviceChange.None);
        }
        existing["capabilities"] = new System.Text.Json.Nodes.JsonObject { ["iotEdge"] = true };
        var etag = existing["etag"]?.GetValue<string>();
        using var update = Request(RequestMethod.Put, deviceId, System.Text.Encoding.UTF8.GetBytes(existing.ToJsonString()), ifMatchAny: etag is null);
        if (etag is not null)
        {
            update.Request.Headers.SetValue("If-Match", $"\"{etag}\"");
        }
        await _pipeline.SendAsync(update, cancellationToken);
        Ensure(update.Response, 200);
        return new EdgeDeviceIdentity(deviceId, key, EdgeDeviceChange.MadeEdge);
    }

    /// <summary>
    /// Applies a deployment manifest (<c>{"modulesContent": …}</c>) to one edge device:
    /// <c>POST /devices/{id}/applyConfigurationContent</c>. IoT Hub answers 2xx with no useful body.
    /// </summary>
    public async Task ApplyConfigurationContentAsync(string deviceId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var message = Request(RequestMethod.Post, deviceId, content.ToArray(), ifMatchAny: false, operation: "applyConfigurationContent");
        await _pipeline.SendAsync(message, cancellationToken);
        Ensure(message.Response, 200, 204);
    }

    private HttpMessage Request(RequestMethod method, string deviceId, byte[]? body, bool ifMatchAny, string? operation = null)
    {
        var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(_endpoint);
        request.Uri.AppendPath("/devices/", escape: false);
        request.Uri.AppendPath(deviceId, escape: true);
        if (operation is not null)
        {
            request.Uri.AppendPath("/" + operation, escape: false);
        }
        request.Uri.AppendQuery("api-version", ApiVersion);
        request.Headers.SetValue("Accept", "application/json");
        if (ifMatchAny)
        {
            request.Headers.SetValue("If-Match", "\"*\"");
        }
        if (body is not null)
        {
            request.Headers.SetValue("Content-Type", "application/json; charset=utf-8");
            request.Content = RequestContent.Create(body);
        }
        return message;
    }

    private static byte[] DeviceBody(string deviceId, string primaryKey, string secondaryKey, bool iotEdge = false)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("deviceId", deviceId);
            json.WriteString("status", "enabled");
            json.WriteStartObject("authentication");
            json.WriteString("type", "sas");
            json.WriteStartObject("symmetricKey");
            json.WriteString("primaryKey", primaryKey);
            json.WriteString("secondaryKey", secondaryKey);
            json.WriteEndObject();
            json.WriteEndObject();
            if (iotEdge)
            {
                json.WriteStartObject("capabilities");
                json.WriteBoolean("iotEdge", true);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static DeviceIdentity ReadIdentity(Response response, string deviceId, string? fallbackKey)
    {
        using var document = JsonDocument.Parse(response.Content.ToMemory());
        var root = document.RootElement;
        var id = root.TryGetProperty("deviceId", out var idElement) ? idElement.GetString() ?? deviceId : deviceId;
        var key = root.TryGetProperty("authentication", out var authentication)
            && authentication.TryGetProperty("symmetricKey", out var symmetricKey)
            && symmetricKey.TryGetProperty("primaryKey", out var primary)
            ? primary.GetString()
            : null;
        return new DeviceIdentity(id, key ?? fallbackKey
            ?? throw new InvalidDataException($"IoT Hub returned device '{id}' without a primary key (not a SAS device?)."));
    }

    private static Response Ensure(Response response, params int[] expected)
    {
        if (Array.IndexOf(expected, response.Status) >= 0)
        {
            return response;
        }
        var errorCode = response.Headers.TryGetValue("iothub-errorcode", out var code) ? code : null;
        var content = response.Content?.ToString() ?? "";
        throw new RequestFailedException(response.Status,
            $"IoT Hub registry answered {response.Status} {response.ReasonPhrase} ({errorCode ?? "no iothub-errorcode"}): {content}",
            errorCode, null);
    }

    /// <summary>Keys and tokens travel in these requests: https, except to a stand-in on this machine.</summary>
    private static Uri CheckEndpoint(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri
            || !(endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback)))
        {
            throw new ArgumentException(
                $"The registry endpoint must be https (plain http only on a loopback address), not '{endpoint}'.", nameof(endpoint));
        }
        return endpoint;
    }

    private static string ResourceUriOf(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return $"{endpoint.Host}/devices";
    }

    /// <summary>Signs requests with a shared access policy token, renewed five minutes before it expires.</summary>
    private sealed class SasPolicy : HttpPipelineSynchronousPolicy
    {
        private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);
        private readonly string _resourceUri;
        private readonly string _policyName;
        private readonly string _policyKey;
        private readonly TimeSpan _lifetime;
        private readonly TimeProvider _time;
        private Issued? _current;

        public SasPolicy(string resourceUri, string policyName, string policyKey, IotHubRegistryClientOptions options)
        {
            ArgumentException.ThrowIfNullOrEmpty(policyName);
            ArgumentException.ThrowIfNullOrEmpty(policyKey);
            _ = SasToken.Sign("", policyKey); // fail now, not on the first request, when the key is not base64
            _resourceUri = resourceUri;
            _policyName = policyName;
            _policyKey = policyKey;
            _lifetime = options.SasTokenLifetime;
            _time = options.TimeProvider;
        }

        public override void OnSendingRequest(HttpMessage message)
        {
            var now = _time.GetUtcNow();
            // Requests on other threads may mint a token at the same time; either result is valid.
            var current = Volatile.Read(ref _current);
            if (current is null || now >= current.ExpiresOn - RenewBefore)
            {
                var expiresOn = now + _lifetime;
                current = new Issued(SasToken.Create(_resourceUri, _policyKey, expiresOn, _policyName), expiresOn);
                Volatile.Write(ref _current, current);
            }
            message.Request.Headers.SetValue("Authorization", current.Token);
        }

        private sealed record Issued(string Token, DateTimeOffset ExpiresOn);
    }
}
