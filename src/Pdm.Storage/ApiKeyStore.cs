using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>API keys: created, listed, revoked, and checked when presented.</summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    private const string KeyMarker = "pdm_";
    private const int KeyRandomBytes = 32;
    private const int KeyPrefixLength = 12;
    // "pdm_" + unpadded base64url of 32 bytes.
    private static readonly int KeyLength = KeyMarker.Length + Base64Url.GetEncodedLength(KeyRandomBytes);

    private const string ApiKeyColumns = "id, tenant_id, name, prefix, role, created_at, revoked_at, last_used_at";

    // The minute each key's use was last written, so a busy key costs one UPDATE a minute, not one per request.
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _lastUseWritten = new();

    /// <summary>
    /// How long a key that authenticated is trusted again without a lookup, so a dashboard polling every few seconds
    /// costs one query per key and interval rather than one per request. A revocation takes effect at once in the
    /// process that made it, and within this time in the others.
    /// </summary>
    public static readonly TimeSpan CheckedKeyLifetime = TimeSpan.FromSeconds(10);

    // Keys that authenticated, by the hash of the presented key (only keys that exist are ever added).
    private readonly ConcurrentDictionary<string, (ApiPrincipal Principal, long Until)> _checked = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a key "pdm_" + base64url(32 random bytes). Only its first 12 characters and its SHA-256 hash are
    /// stored; the plaintext is in the result and nowhere else. Platform admin keys have no tenant, every other
    /// role needs one.
    /// </summary>
    /// <returns>The stored key and its plaintext, which exists only here: show it once, then drop it.</returns>
    public async Task<(ApiKey Key, string Plaintext)> CreateApiKeyAsync(Guid? tenantId, string name, ApiKeyRole role,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if ((role == ApiKeyRole.PlatformAdmin) != (tenantId is null))
        {
            throw new ArgumentException(role == ApiKeyRole.PlatformAdmin
                ? "A platform admin key must not belong to a tenant."
                : $"A {RoleText(role)} key must belong to a tenant.", nameof(tenantId));
        }
        // A 48-bit prefix collision is very unlikely; retry rather than fail on one.
        for (var attempt = 1; ; attempt++)
        {
            var plaintext = KeyMarker + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(KeyRandomBytes));
            var prefix = plaintext[..KeyPrefixLength];
            await using var command = dataSource.PlatformCommand("SELECT id, created_at FROM pdm.create_api_key($1, $2, $3, $4, $5)",
                tenantId, name, prefix, HashKey(plaintext), RoleText(role));
            try
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var key = new ApiKey(reader.GetGuid(0), tenantId, name, prefix, role,
                    reader.GetFieldValue<DateTimeOffset>(1), null);
                return (key, plaintext);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && attempt < 3)
            {
                // Prefix collision: the loop draws a fresh key.
            }
        }
    }

    /// <summary>Revokes a key; with a tenant id only that tenant's key. Returns false when no active key matched.</summary>
    public async Task<bool> RevokeApiKeyAsync(Guid? tenantId, Guid keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.PlatformCommand("SELECT pdm.revoke_api_key($1, $2)", keyId, tenantId);
        var revoked = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        foreach (var (hash, entry) in _checked)
        {
            if (entry.Principal.KeyId == keyId)
            {
                _checked.TryRemove(hash, out _);
            }
        }
        return revoked;
    }

    /// <summary>The keys of one tenant, or the platform admin keys when <paramref name="tenantId"/> is null.</summary>
    public Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(Guid? tenantId, CancellationToken cancellationToken) =>
        ListApiKeysAsync(tenantId, new PageRequest { Limit = int.MaxValue }, cancellationToken);

    /// <summary>A page of a tenant's keys (null: the platform-admin keys), oldest first, created in [From, To).</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(Guid? tenantId, PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        await using var command = dataSource.PlatformCommand($"""
            SELECT {ApiKeyColumns} FROM pdm.list_api_keys($1::uuid)
            WHERE ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
              AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
            ORDER BY created_at, id LIMIT $6
            """, tenantId, page.From, page.To, page.AfterAt, page.AfterId, (long)page.Limit);
        return await ReadAllAsync(command, reader => new ApiKey(
            reader.GetGuid(0), NullableValue<Guid>(reader, 1), reader.GetString(2), reader.GetString(3),
            ParseRole(reader.GetString(4)), reader.GetFieldValue<DateTimeOffset>(5),
            NullableValue<DateTimeOffset>(reader, 6), NullableValue<DateTimeOffset>(reader, 7)), cancellationToken);
    }

    /// <summary>
    /// Records that the key authenticated a request at <paramref name="now"/>, to the minute. Writes at most once a
    /// minute per key and process; the database keeps the latest minute any process wrote.
    /// </summary>
    /// <returns>True when this call wrote to the database.</returns>
    public async Task<bool> RecordUseAsync(Guid keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var minute = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        if (_lastUseWritten.TryGetValue(keyId, out var written) && written >= minute)
        {
            return false;
        }
        _lastUseWritten[keyId] = minute;
        await using var command = dataSource.PlatformCommand("SELECT pdm.touch_api_key($1, $2)", keyId, minute);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    /// <summary>Who a presented key belongs to; null when it is malformed, unknown, wrong or revoked.</summary>
    public async Task<ApiPrincipal?> AuthenticateApiKeyAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (presentedKey is null || presentedKey.Length != KeyLength
            || !presentedKey.StartsWith(KeyMarker, StringComparison.Ordinal)
            || !Base64Url.IsValid(presentedKey.AsSpan(KeyMarker.Length)))
        {
            return null;
        }
        var presentedHash = HashKey(presentedKey);
        var checkedKey = Convert.ToBase64String(presentedHash);
        if (_checked.TryGetValue(checkedKey, out var known) && known.Until > Environment.TickCount64)
        {
            return known.Principal;
        }
        await using var command = dataSource.PlatformCommand(
            "SELECT id, tenant_id, name, hash, role, revoked FROM pdm.find_api_key($1)", presentedKey[..KeyPrefixLength]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var storedHash = reader.GetFieldValue<byte[]>(3);
        if (!CryptographicOperations.FixedTimeEquals(storedHash, presentedHash) || reader.GetBoolean(5))
        {
            _checked.TryRemove(checkedKey, out _);
            return null;
        }
        var principal = new ApiPrincipal(reader.GetGuid(0), NullableValue<Guid>(reader, 1), ParseRole(reader.GetString(4)),
            reader.GetString(2));
        _checked[checkedKey] = (principal, Environment.TickCount64 + (long)CheckedKeyLifetime.TotalMilliseconds);
        return principal;
    }

    private static byte[] HashKey(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static string RoleText(ApiKeyRole role) => ApiKeyRoles.Name(role);

    private static ApiKeyRole ParseRole(string text) =>
        ApiKeyRoles.TryParse(text, out var role) ? role : throw new InvalidOperationException($"Unknown API key role '{text}' in the database.");
}
