using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.IotHub;

namespace Pdm.IotHub.IotEdge;

/// <summary>
/// SAS tokens for an IoT Edge module, signed by the workload API with the module's key (which the module never
/// sees). A token is reused until <see cref="RenewalFraction"/> of its lifetime has passed, then a new one is signed,
/// so every (re)connect presents a token with plenty of time left. Plug <see cref="GetTokenAsync"/> into
/// <see cref="Mqtt.MqttOptions.PasswordProvider"/>.
/// </summary>
/// <remarks>
/// MQTT 3.1.1 cannot change credentials on a live session: the session keeps the token it connected with, the hub
/// (or edgeHub) drops it once that token expires, and the client reconnects with the renewed one.
/// </remarks>
public sealed partial class ModuleSasTokenProvider
{
    public const double RenewalFraction = 0.8;

    private readonly WorkloadClient _workload;
    private readonly IotEdgeEnvironment _environment;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _encodedAudience;
    private IssuedToken? _current;

    public ModuleSasTokenProvider(WorkloadClient workload, IotEdgeEnvironment environment, TimeSpan lifetime,
        TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(timeProvider);
        // Expiry is sent in whole seconds; anything shorter than a minute would be renewed on nearly every call.
        ArgumentOutOfRangeException.ThrowIfLessThan(lifetime, TimeSpan.FromMinutes(1));
        _workload = workload;
        _environment = environment;
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        Audience = SasToken.ResourceUri(environment.IotHubHostName, environment.DeviceId, environment.ModuleId);
        // Encoded the way SasToken.Create encodes it, so both kinds of token have the same shape.
        _encodedAudience = WebUtility.UrlEncode(Audience);
    }

    /// <summary><c>{hub}/devices/{deviceId}/modules/{moduleId}</c>, the resource the tokens grant.</summary>
    public string Audience { get; }

    /// <summary>When the token last handed out expires; null before the first.</summary>
    public DateTimeOffset? ExpiresAt => Volatile.Read(ref _current)?.ExpiresAt;

    /// <summary>
    /// The cached token while it is younger than <see cref="RenewalFraction"/> of its lifetime, else a newly signed
    /// one. Two callers that find it due at once may both sign; the tokens are equally valid.
    /// </summary>
    public async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        if (Volatile.Read(ref _current) is { } current && now < current.RenewAt)
        {
            return current.Token;
        }

        var expiry = now + _lifetime;
        var expirySeconds = expiry.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var digest = await _workload.SignAsync(_environment.ModuleId, _environment.ModuleGenerationId,
            Encoding.UTF8.GetBytes($"{_encodedAudience}\n{expirySeconds}"), cancellationToken);
        var token = $"SharedAccessSignature sr={_encodedAudience}&sig={WebUtility.UrlEncode(Convert.ToBase64String(digest))}&se={expirySeconds}";
        var issued = new IssuedToken(token, now + _lifetime * RenewalFraction, expiry);
        Volatile.Write(ref _current, issued);
        _logger.ModuleTokenIssued(Audience, expiry, issued.RenewAt);
        return token;
    }

    private sealed record IssuedToken(string Token, DateTimeOffset RenewAt, DateTimeOffset ExpiresAt);
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6501, Level = LogLevel.Information,
        Message = "Workload API signed a SAS token for {Audience}, valid until {ExpiresAt}, renewed from {RenewAt}")]
    public static partial void ModuleTokenIssued(this ILogger logger, string audience, DateTimeOffset expiresAt, DateTimeOffset renewAt);
}
