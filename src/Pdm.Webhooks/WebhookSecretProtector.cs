using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;

namespace Pdm.Webhooks;

/// <summary>Encrypts subscription secrets for storage; the store never sees a secret in clear.</summary>
public interface IWebhookSecretProtector
{
    /// <summary>
    /// Encrypts <paramref name="secret"/> bound to <paramref name="context"/> (the subscription id): the result only
    /// decrypts with the same context, so a ciphertext copied to another subscription's row is refused.
    /// </summary>
    byte[] Protect(WebhookSecret secret, string context);

    /// <summary>Decrypts what <see cref="Protect"/> made; throws <see cref="WebhookSecretProtectionException"/> with the reason.</summary>
    WebhookSecret Unprotect(ReadOnlySpan<byte> protectedSecret, string context);
}

/// <summary>A protected secret that cannot be decrypted: unknown key, wrong context, tampered or malformed.</summary>
public sealed class WebhookSecretProtectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The key encryption keys, from app settings (in Azure, Key Vault references): <c>Pdm__WebhookSecretKey</c> encrypts,
/// and it and every key in <c>Pdm__WebhookSecretPreviousKeys</c> decrypt, so keys rotate without re-encrypting first.
/// </summary>
public sealed class WebhookSecretKeyOptions
{
    public const string Section = "Pdm";

    /// <summary>Base64 of 32 random bytes (e.g. <c>openssl rand -base64 32</c>).</summary>
    [Required(ErrorMessage = "Pdm:WebhookSecretKey (base64 of a 256-bit key) is required to store webhook secrets.")]
    public string WebhookSecretKey { get; set; } = "";

    /// <summary>Retired keys, base64, separated by commas or semicolons; they only decrypt.</summary>
    public string WebhookSecretPreviousKeys { get; set; } = "";
}

/// <summary>
/// AES-256-GCM. Layout: version (1 byte) · key id (8 bytes: the first bytes of SHA-256 of the key, so no id has to
/// be configured and a wrong key is named as such, not as tampering) · nonce (12) · tag (16) · ciphertext.
/// The version, key id and context are authenticated as associated data.
/// </summary>
public sealed class AesGcmWebhookSecretProtector : IWebhookSecretProtector
{
    private const byte Version = 1;
    private const int KeyBytes = 32;
    private const int KeyIdBytes = 8;
    private const int HeaderBytes = 1 + KeyIdBytes;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly KeyEntry _current;
    private readonly Dictionary<string, KeyEntry> _decryptKeys;

    public AesGcmWebhookSecretProtector(WebhookSecretKeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _current = ReadKey(options.WebhookSecretKey, "Pdm:WebhookSecretKey");
        _decryptKeys = new Dictionary<string, KeyEntry>(StringComparer.Ordinal) { [_current.IdHex] = _current };
        var previous = options.WebhookSecretPreviousKeys.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var key in previous)
        {
            var entry = ReadKey(key, "Pdm:WebhookSecretPreviousKeys");
            _decryptKeys.TryAdd(entry.IdHex, entry);
        }
    }

    /// <summary>The id of the key that encrypts now (hex), for operators checking which key a row needs.</summary>
    public string CurrentKeyId => _current.IdHex;

    /// <summary>A fresh 256-bit key in the form the setting takes.</summary>
    public static string GenerateKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));

    public byte[] Protect(WebhookSecret secret, string context)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(context);
        var plaintext = secret.Key;
        var result = new byte[HeaderBytes + NonceBytes + TagBytes + plaintext.Length];
        result[0] = Version;
        _current.Id.CopyTo(result.AsSpan(1, KeyIdBytes));
        var nonce = result.AsSpan(HeaderBytes, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_current.Key, TagBytes);
        aes.Encrypt(nonce, plaintext, result.AsSpan(HeaderBytes + NonceBytes + TagBytes), result.AsSpan(HeaderBytes + NonceBytes, TagBytes),
            AssociatedData(result.AsSpan(0, HeaderBytes), context));
        return result;
    }

    public WebhookSecret Unprotect(ReadOnlySpan<byte> protectedSecret, string context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (protectedSecret.Length <= HeaderBytes + NonceBytes + TagBytes)
        {
            throw new WebhookSecretProtectionException($"Protected webhook secret is {protectedSecret.Length} bytes, too short to hold one.");
        }
        if (protectedSecret[0] != Version)
        {
            throw new WebhookSecretProtectionException($"Protected webhook secret has format version {protectedSecret[0]}; this build reads version {Version}.");
        }
        var keyId = Convert.ToHexStringLower(protectedSecret.Slice(1, KeyIdBytes));
        if (!_decryptKeys.TryGetValue(keyId, out var entry))
        {
            throw new WebhookSecretProtectionException(
                $"Webhook secret was encrypted with key {keyId}, which is not configured (Pdm:WebhookSecretKey is {_current.IdHex}); " +
                "add the old key to Pdm:WebhookSecretPreviousKeys.");
        }
        var plaintext = new byte[protectedSecret.Length - HeaderBytes - NonceBytes - TagBytes];
        try
        {
            using var aes = new AesGcm(entry.Key, TagBytes);
            aes.Decrypt(protectedSecret.Slice(HeaderBytes, NonceBytes), protectedSecret[(HeaderBytes + NonceBytes + TagBytes)..],
                protectedSecret.Slice(HeaderBytes + NonceBytes, TagBytes), plaintext, AssociatedData(protectedSecret[..HeaderBytes], context));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new WebhookSecretProtectionException(
                $"Protected webhook secret (key {keyId}) failed authentication: it was altered or belongs to another context than '{context}'.", ex);
        }
        return WebhookSecret.FromKey(plaintext);
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, string context) => [.. header, .. Encoding.UTF8.GetBytes(context)];

    private static KeyEntry ReadKey(string base64, string setting)
    {
        if (string.IsNullOrWhiteSpace(base64))
        {
            throw new WebhookSecretProtectionException($"{setting} is not set (expected base64 of {KeyBytes} random bytes).");
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new WebhookSecretProtectionException($"{setting} is not valid base64 (expected base64 of {KeyBytes} random bytes).");
        }
        if (key.Length != KeyBytes)
        {
            throw new WebhookSecretProtectionException($"{setting} holds {key.Length} bytes; AES-256 needs exactly {KeyBytes}.");
        }
        var id = SHA256.HashData(key)[..KeyIdBytes];
        return new KeyEntry(key, id, Convert.ToHexStringLower(id));
    }

    private sealed record KeyEntry(byte[] Key, byte[] Id, string IdHex);
}
