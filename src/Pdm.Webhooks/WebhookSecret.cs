using System.Security.Cryptography;

namespace Pdm.Webhooks;

/// <summary>
/// A subscription's signing secret in the Standard Webhooks form <c>whsec_&lt;base64&gt;</c>. Shown to the tenant once
/// (<see cref="Encoded"/>), then kept only encrypted (<see cref="IWebhookSecretProtector"/>). <see cref="ToString"/>
/// never prints it, so a secret that ends up in a log or an exception message stays hidden.
/// </summary>
public sealed class WebhookSecret
{
    public const string Prefix = "whsec_";

    /// <summary>32 random bytes: the spec asks for 24 to 64, and HMAC-SHA256 gains nothing above its block of 64.</summary>
    public const int GeneratedBytes = 32;

    private const int MinimumBytes = 24;
    private const int MaximumBytes = 64;

    private readonly byte[] _key;

    private WebhookSecret(byte[] key)
    {
        _key = key;
    }

    /// <summary>The secret as the tenant configures it in their verifier: <c>whsec_</c> and the base64 key.</summary>
    public string Encoded => Prefix + Convert.ToBase64String(_key);

    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>A new secret from the operating system's CSPRNG.</summary>
    public static WebhookSecret Generate() => new(RandomNumberGenerator.GetBytes(GeneratedBytes));

    /// <summary>Reads a <c>whsec_</c> secret; a bad one is refused with the reason (the value itself is not repeated).</summary>
    public static WebhookSecret Parse(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!encoded.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException($"Webhook secret must start with '{Prefix}'.");
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(encoded[Prefix.Length..]);
        }
        catch (FormatException)
        {
            throw new FormatException($"Webhook secret after '{Prefix}' is not valid base64.");
        }
        return FromKey(key);
    }

    internal static WebhookSecret FromKey(byte[] key)
    {
        if (key.Length is < MinimumBytes or > MaximumBytes)
        {
            throw new FormatException($"Webhook secret has {key.Length} bytes; Standard Webhooks needs {MinimumBytes} to {MaximumBytes}.");
        }
        return new WebhookSecret(key);
    }

    public override string ToString() => Prefix + "***";
}
