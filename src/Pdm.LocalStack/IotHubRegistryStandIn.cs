using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.IotHub;

namespace Pdm.LocalStack;

/// <summary>
/// The part of IoT Hub's registry REST API that <see cref="IotHubRegistryClient"/> calls, on 127.0.0.1, with the local
/// broker's password and ACL files as the registry: <c>PUT /devices/{id}</c> (create; with <c>If-Match</c>, replace) and
/// <c>DELETE /devices/{id}</c>, at api-version <see cref="IotHubRegistryClient.ApiVersion"/>, each with a shared access
/// policy token. Same URLs, JSON and error statuses (with <c>iothub-errorcode</c>) as the hub, so the function app runs
/// the same registry client locally as in Azure.
/// </summary>
/// <remarks>
/// Differences, all from the broker: a device authenticates with its primary key only (the broker has one password per
/// user), <c>GET</c> is not served (the broker keeps a hash, not the key), and ids in the platform's namespace
/// (<see cref="DeviceIds.PlatformPrefix"/>) are refused because the broker's service account lives there.
/// </remarks>
public sealed partial class IotHubRegistryStandIn : IAsyncDisposable
{
    /// <summary>The policy the local connection string names (IoT Hub's built-in policy with RegistryWrite).</summary>
    public const string PolicyName = "registryReadWrite";

    /// <summary>The hub name tokens are signed for; requests go to <see cref="Endpoint"/>.</summary>
    public const string HostName = "127.0.0.1";

    // IoT Hub takes symmetric keys of 16 to 64 bytes.
    private const int MinKeyBytes = 16;
    private const int MaxKeyBytes = 64;
    private const int KeyBytes = 32;
    private const int MaxBodyBytes = 64 * 1024;

    private readonly WebApplication _app;
    private readonly SemaphoreSlim _gate;

    private IotHubRegistryStandIn(WebApplication app, SemaphoreSlim gate, Uri endpoint, string policyKey)
    {
        _app = app;
        _gate = gate;
        Endpoint = endpoint;
        PolicyKey = policyKey;
    }

    /// <summary>http://127.0.0.1:port/, the value of <c>Pdm__IotHubRegistryEndpoint</c> locally.</summary>
    public Uri Endpoint { get; }

    public string PolicyKey { get; }

    /// <summary><c>HostName=127.0.0.1;SharedAccessKeyName=registryReadWrite;SharedAccessKey=..</c>, as the hub's portal shows it.</summary>
    public string ConnectionString => $"HostName={HostName};SharedAccessKeyName={PolicyName};SharedAccessKey={PolicyKey}";

    /// <summary>Listens on 127.0.0.1 (port 0: any free one) with a new random policy key.</summary>
    public static async Task<IotHubRegistryStandIn> StartAsync(MosquittoDeviceRegistry devices, int port, ILoggerFactory? loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var policyKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IotHubRegistryStandIn>();
        // Content root: not the working directory, whose appsettings watcher would follow every write in the tree below it
        // (the repository with PostgreSQL's data in .pdm: one run spent a quarter of its CPU reading those events).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NoConsoleLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        var app = builder.Build();
        // Exists-then-write must not interleave with another request for the same files.
        var gate = new SemaphoreSlim(1, 1);
        var handler = new Handler(devices, policyKey, gate, logger);
        app.MapPut("/devices/{deviceId}", handler.PutAsync);
        app.MapDelete("/devices/{deviceId}", handler.DeleteAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new IotHubRegistryStandIn(app, gate, new Uri(address.TrimEnd('/') + "/"), policyKey);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _gate.Dispose();
    }

    private sealed class Handler(MosquittoDeviceRegistry devices, string policyKey, SemaphoreSlim gate, ILogger logger)
    {
        public async Task<IResult> PutAsync(HttpContext context, string deviceId, CancellationToken cancellationToken)
        {
            if (Refuse(context, deviceId) is { } refused)
            {
                return refused;
            }
            string primaryKey, secondaryKey;
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
                if (ReadDevice(body.RootElement, deviceId, out primaryKey, out secondaryKey) is { } problem)
                {
                    return Error(HttpStatusCode.BadRequest, "ArgumentInvalid", problem);
                }
            }
            catch (JsonException ex)
            {
                return Error(HttpStatusCode.BadRequest, "ArgumentInvalid", $"The body is not a device's JSON: {ex.Message}");
            }

            var replace = context.Request.Headers.IfMatch.Count > 0;
            await gate.WaitAsync(cancellationToken);
            try
            {
                if (!replace && devices.Contains(deviceId))
                {
                    return Error(HttpStatusCode.Conflict, "DeviceAlreadyExists", $"A device with ID '{deviceId}' is already registered.");
                }
                await devices.WriteAsync(deviceId, primaryKey, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
            logger.StandInDeviceWritten(deviceId, replace);
            return Results.Json(new DeviceDocument
            {
                DeviceId = deviceId,
                Etag = Convert.ToBase64String(RandomNumberGenerator.GetBytes(6)),
                Authentication = new AuthenticationDocument { SymmetricKey = new SymmetricKeyDocument { PrimaryKey = primaryKey, SecondaryKey = secondaryKey } },
            }, StandInJson.Device);
        }

        public async Task<IResult> DeleteAsync(HttpContext context, string deviceId, CancellationToken cancellationToken)
        {
            if (Refuse(context, deviceId) is { } refused)
            {
                return refused;
            }
            await gate.WaitAsync(cancellationToken);
            try
            {
                if (!devices.Contains(deviceId))
                {
                    return Error(HttpStatusCode.NotFound, "DeviceNotFound", $"Device '{deviceId}' is not registered.");
                }
                await devices.DeleteAsync(deviceId, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
            logger.StandInDeviceDeleted(deviceId);
            return Results.NoContent();
        }

        /// <summary>The checks every route makes, in IoT Hub's order: who is asking, which API, which device.</summary>
        private ErrorResult? Refuse(HttpContext context, string deviceId)
        {
            if (!Authorized(context.Request.Headers.Authorization.ToString(), out var reason))
            {
                logger.Unauthorized(context.Request.Method, deviceId, reason);
                return Error(HttpStatusCode.Unauthorized, "IotHubUnauthorizedAccess", "Unauthorized");
            }
            var apiVersion = context.Request.Query["api-version"].ToString();
            if (apiVersion != IotHubRegistryClient.ApiVersion)
            {
                return Error(HttpStatusCode.BadRequest, "InvalidProtocolVersion",
                    $"api-version '{apiVersion}' is not served locally; use {IotHubRegistryClient.ApiVersion}.");
            }
            if (DeviceIds.IsPlatformId(deviceId))
            {
                return Error(HttpStatusCode.BadRequest, "ArgumentInvalid",
                    $"'{deviceId}' is a platform identity (prefix '{DeviceIds.PlatformPrefix}'): the local registry never writes or removes it.");
            }
            return DeviceIds.IsValid(deviceId, out var invalid) ? null : Error(HttpStatusCode.BadRequest, "ArgumentInvalid", invalid);
        }

        /// <summary>
        /// A shared access policy token for this hub's devices: <c>SharedAccessSignature sr=..&amp;sig=..&amp;se=..&amp;skn=..</c>,
        /// signed with the policy's key, not expired, for <c>{HostName}/devices</c> or a resource under it.
        /// </summary>
        private bool Authorized(string header, out string reason)
        {
            const string Scheme = "SharedAccessSignature ";
            reason = "no SharedAccessSignature";
            if (!header.StartsWith(Scheme, StringComparison.Ordinal))
            {
                return false;
            }
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in header[Scheme.Length..].Split('&'))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    fields[pair[..equals]] = pair[(equals + 1)..];
                }
            }
            if (!fields.TryGetValue("sr", out var encodedResource) || !fields.TryGetValue("sig", out var signature)
                || !fields.TryGetValue("se", out var expiry) || !fields.TryGetValue("skn", out var policy))
            {
                reason = "sr, sig, se or skn missing";
                return false;
            }
            if (WebUtility.UrlDecode(policy) != PolicyName)
            {
                reason = $"unknown policy '{WebUtility.UrlDecode(policy)}'";
                return false;
            }
            var resource = WebUtility.UrlDecode(encodedResource);
            if (resource != $"{HostName}/devices" && !resource.StartsWith($"{HostName}/devices/", StringComparison.Ordinal))
            {
                reason = $"token for '{resource}'";
                return false;
            }
            if (!long.TryParse(expiry, NumberStyles.None, CultureInfo.InvariantCulture, out var expirySeconds)
                || expirySeconds <= DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            {
                reason = "expired";
                return false;
            }
            var expected = Encoding.UTF8.GetBytes(SasToken.Sign($"{encodedResource}\n{expiry}", policyKey));
            if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(WebUtility.UrlDecode(signature))))
            {
                reason = "bad signature";
                return false;
            }
            reason = "";
            return true;
        }

        /// <summary>A SAS device whose id matches the URL; its keys, or new ones where the body has none (as IoT Hub does).</summary>
        private static string? ReadDevice(JsonElement device, string deviceId, out string primaryKey, out string secondaryKey)
        {
            primaryKey = secondaryKey = "";
            if (device.ValueKind != JsonValueKind.Object)
            {
                return "The body must be a device object.";
            }
            if (device.TryGetProperty("deviceId", out var id) && id.GetString() != deviceId)
            {
                return $"The body's deviceId '{id}' is not the URL's '{deviceId}'.";
            }
            string? primary = null, secondary = null;
            if (device.TryGetProperty("authentication", out var authentication) && authentication.ValueKind == JsonValueKind.Object)
            {
                if (authentication.TryGetProperty("type", out var type) && type.GetString() is { } kind && kind != "sas")
                {
                    return $"Authentication type '{kind}' is not served locally: devices authenticate with SAS keys.";
                }
                if (authentication.TryGetProperty("symmetricKey", out var keys) && keys.ValueKind == JsonValueKind.Object)
                {
                    primary = keys.TryGetProperty("primaryKey", out var p) ? p.GetString() : null;
                    secondary = keys.TryGetProperty("secondaryKey", out var s) ? s.GetString() : null;
                }
            }
            primaryKey = primary ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
            secondaryKey = secondary ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));
            return KeyProblem("primaryKey", primaryKey) ?? KeyProblem("secondaryKey", secondaryKey);
        }

        private static string? KeyProblem(string name, string key)
        {
            var bytes = new byte[MaxKeyBytes + 1];
            return Convert.TryFromBase64String(key, bytes, out var length) && length is >= MinKeyBytes and <= MaxKeyBytes
                ? null
                : $"{name} must be base64 of {MinKeyBytes} to {MaxKeyBytes} bytes.";
        }

        /// <summary>IoT Hub's error shape: the code in the <c>iothub-errorcode</c> header and in the body's Message.</summary>
        private static ErrorResult Error(HttpStatusCode status, string errorCode, string message) =>
            new ErrorResult((int)status, errorCode, JsonSerializer.Serialize(
                new ErrorDocument { Message = $"ErrorCode:{errorCode};{message}", ExceptionMessage = "" }, StandInJson.Error));
    }

    private sealed class ErrorResult(int status, string errorCode, string body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers["iothub-errorcode"] = errorCode;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            return httpContext.Response.WriteAsync(body, httpContext.RequestAborted);
        }
    }

    private sealed record DeviceDocument
    {
        public required string DeviceId { get; init; }
        public string GenerationId { get; init; } = "0";
        public required string Etag { get; init; }
        public string ConnectionState { get; init; } = "Disconnected";
        public string Status { get; init; } = "enabled";
        public required AuthenticationDocument Authentication { get; init; }
    }

    private sealed record AuthenticationDocument
    {
        public string Type { get; init; } = "sas";
        public required SymmetricKeyDocument SymmetricKey { get; init; }
    }

    private sealed record SymmetricKeyDocument
    {
        public required string PrimaryKey { get; init; }
        public required string SecondaryKey { get; init; }
    }

    private sealed record ErrorDocument
    {
        public required string Message { get; init; }
        public required string ExceptionMessage { get; init; }
    }

    private static class StandInJson
    {
        // IoT Hub's device documents are camelCase, its error documents PascalCase.
        public static readonly JsonSerializerOptions Device = new(JsonSerializerDefaults.Web);
        public static readonly JsonSerializerOptions Error = new();
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 8010, Level = LogLevel.Information, Message = "Registry stand-in: device {DeviceId} written (replace: {Replace})")]
    public static partial void StandInDeviceWritten(this ILogger logger, string deviceId, bool replace);

    [LoggerMessage(EventId = 8011, Level = LogLevel.Information, Message = "Registry stand-in: device {DeviceId} deleted")]
    public static partial void StandInDeviceDeleted(this ILogger logger, string deviceId);

    [LoggerMessage(EventId = 8012, Level = LogLevel.Warning, Message = "Registry stand-in refused {Method} of {DeviceId}: {Reason}")]
    public static partial void Unauthorized(this ILogger logger, string method, string deviceId, string reason);
}
