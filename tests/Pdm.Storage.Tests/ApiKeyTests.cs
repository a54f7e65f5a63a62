using System.Security.Cryptography;
using System.Text;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ApiKeyTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_new_tenant_key_authenticates_with_its_tenant_and_role()
    {
        var tenant = await fixture.NewTenantAsync("keys");
        var (key, plaintext) = await fixture.Stores.ApiKeys.CreateApiKeyAsync(tenant.Id, "ci", ApiKeyRole.Viewer,
            CancellationToken.None);

        var principal = await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(plaintext, CancellationToken.None);

        Assert.Equal(new ApiPrincipal(key.Id, tenant.Id, ApiKeyRole.Viewer, "ci"), principal);
        Assert.StartsWith("pdm_", plaintext, StringComparison.Ordinal);
        Assert.Equal(plaintext[..12], key.Prefix);
    }

    [Fact]
    public async Task A_platform_admin_key_has_no_tenant()
    {
        var (_, plaintext) = await fixture.Stores.ApiKeys.CreateApiKeyAsync(null, "root", ApiKeyRole.PlatformAdmin,
            CancellationToken.None);

        var principal = await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(plaintext, CancellationToken.None);

        Assert.NotNull(principal);
        Assert.Null(principal.TenantId);
        Assert.Equal(ApiKeyRole.PlatformAdmin, principal.Role);
    }

    [Fact]
    public async Task Tenant_roles_need_a_tenant_and_platform_admin_must_not_have_one()
    {
        var tenant = await fixture.NewTenantAsync("keys-rules");

        await Assert.ThrowsAsync<ArgumentException>(() =>
            fixture.Stores.ApiKeys.CreateApiKeyAsync(null, "x", ApiKeyRole.Admin, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            fixture.Stores.ApiKeys.CreateApiKeyAsync(tenant.Id, "x", ApiKeyRole.PlatformAdmin, CancellationToken.None));
    }

    [Fact]
    public async Task A_wrong_key_with_a_known_prefix_or_a_malformed_key_is_refused()
    {
        var tenant = await fixture.NewTenantAsync("keys-wrong");
        var (_, plaintext) = await fixture.Stores.ApiKeys.CreateApiKeyAsync(tenant.Id, "ci", ApiKeyRole.Admin,
            CancellationToken.None);
        var lastChar = plaintext[^1] == 'A' ? 'B' : 'A';
        var samePrefixOtherSecret = plaintext[..^1] + lastChar;

        Assert.Null(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(samePrefixOtherSecret, CancellationToken.None));
        Assert.Null(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(plaintext[..^1], CancellationToken.None));
        Assert.Null(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync("", CancellationToken.None));
        Assert.Null(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync("Bearer " + plaintext, CancellationToken.None));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_and_listed_as_revoked()
    {
        var tenant = await fixture.NewTenantAsync("keys-revoke");
        var other = await fixture.NewTenantAsync("keys-revoke-other");
        var (key, plaintext) = await fixture.Stores.ApiKeys.CreateApiKeyAsync(tenant.Id, "ci", ApiKeyRole.Admin,
            CancellationToken.None);

        Assert.False(await fixture.Stores.ApiKeys.RevokeApiKeyAsync(other.Id, key.Id, CancellationToken.None));
        Assert.NotNull(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(plaintext, CancellationToken.None));
        Assert.True(await fixture.Stores.ApiKeys.RevokeApiKeyAsync(tenant.Id, key.Id, CancellationToken.None));
        Assert.False(await fixture.Stores.ApiKeys.RevokeApiKeyAsync(tenant.Id, key.Id, CancellationToken.None));

        Assert.Null(await fixture.Stores.ApiKeys.AuthenticateApiKeyAsync(plaintext, CancellationToken.None));
        var listed = Assert.Single(await fixture.Stores.ApiKeys.ListApiKeysAsync(tenant.Id, CancellationToken.None));
        Assert.Equal(key.Id, listed.Id);
        Assert.NotNull(listed.RevokedAt);
    }

    [Fact]
    public async Task Only_the_sha256_hash_of_a_key_is_stored_never_the_key()
    {
        var tenant = await fixture.NewTenantAsync("keys-hash");
        var (key, plaintext) = await fixture.Stores.ApiKeys.CreateApiKeyAsync(tenant.Id, "ci", ApiKeyRole.Operator,
            CancellationToken.None);

        var storedHash = await fixture.ScalarAsync<byte[]>(fixture.SuperuserConnectionString,
            "SELECT hash FROM pdm.api_keys WHERE id = $1", key.Id);
        var rowsContainingKey = await fixture.ScalarAsync<long>(fixture.SuperuserConnectionString,
            "SELECT count(*) FROM pdm.api_keys k WHERE strpos(row_to_json(k)::text, $1) > 0", plaintext);

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(plaintext)), storedHash);
        Assert.Equal(0, rowsContainingKey);
    }
}
