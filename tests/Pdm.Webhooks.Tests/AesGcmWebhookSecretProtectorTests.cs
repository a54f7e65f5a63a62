namespace Pdm.Webhooks.Tests;

public sealed class AesGcmWebhookSecretProtectorTests
{
    private static AesGcmWebhookSecretProtector Protector(string key, string previous = "") =>
        new(new WebhookSecretKeyOptions { WebhookSecretKey = key, WebhookSecretPreviousKeys = previous });

    [Fact]
    public void Round_trip_returns_the_secret_and_the_ciphertext_does_not_contain_it()
    {
        var protector = Protector(AesGcmWebhookSecretProtector.GenerateKey());
        var secret = WebhookSecret.Generate();

        var stored = protector.Protect(secret, "sub_1");

        Assert.Equal(secret.Encoded, protector.Unprotect(stored, "sub_1").Encoded);
        var key = Convert.FromBase64String(secret.Encoded[6..]);
        Assert.DoesNotContain(Convert.ToHexString(key), Convert.ToHexString(stored), StringComparison.Ordinal);
        Assert.NotEqual(stored, protector.Protect(secret, "sub_1")); // a fresh nonce every time
    }

    [Theory]
    [InlineData(1)] // key id
    [InlineData(10)] // nonce
    [InlineData(30)] // tag
    [InlineData(50)] // ciphertext
    public void Any_altered_byte_is_detected(int index)
    {
        var protector = Protector(AesGcmWebhookSecretProtector.GenerateKey());
        var stored = protector.Protect(WebhookSecret.Generate(), "sub_1");

        stored[index] ^= 0x01;

        var ex = Assert.Throws<WebhookSecretProtectionException>(() => protector.Unprotect(stored, "sub_1"));
        Assert.True(ex.Message.Contains("altered", StringComparison.Ordinal) || ex.Message.Contains("not configured", StringComparison.Ordinal), ex.Message);
    }

    [Fact]
    public void A_ciphertext_copied_to_another_subscription_is_refused()
    {
        var protector = Protector(AesGcmWebhookSecretProtector.GenerateKey());
        var stored = protector.Protect(WebhookSecret.Generate(), "sub_1");

        var ex = Assert.Throws<WebhookSecretProtectionException>(() => protector.Unprotect(stored, "sub_2"));
        Assert.Contains("another context than 'sub_2'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_key_is_named_as_such_with_the_setting_to_fix()
    {
        var stored = Protector(AesGcmWebhookSecretProtector.GenerateKey()).Protect(WebhookSecret.Generate(), "sub_1");
        var other = Protector(AesGcmWebhookSecretProtector.GenerateKey());

        var ex = Assert.Throws<WebhookSecretProtectionException>(() => other.Unprotect(stored, "sub_1"));

        Assert.Contains("not configured", ex.Message, StringComparison.Ordinal);
        Assert.Contains(other.CurrentKeyId, ex.Message, StringComparison.Ordinal);
        Assert.Contains("Pdm:WebhookSecretPreviousKeys", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void After_key_rotation_old_rows_decrypt_through_the_previous_keys_and_new_rows_use_the_new_key()
    {
        var oldKey = AesGcmWebhookSecretProtector.GenerateKey();
        var newKey = AesGcmWebhookSecretProtector.GenerateKey();
        var secret = WebhookSecret.Generate();
        var oldRow = Protector(oldKey).Protect(secret, "sub_1");

        var rotated = Protector(newKey, previous: $"{AesGcmWebhookSecretProtector.GenerateKey()}; {oldKey}");

        Assert.Equal(secret.Encoded, rotated.Unprotect(oldRow, "sub_1").Encoded);
        var newRow = rotated.Protect(secret, "sub_1");
        Assert.Throws<WebhookSecretProtectionException>(() => Protector(oldKey).Unprotect(newRow, "sub_1"));
    }

    [Theory]
    [InlineData("", "Pdm:WebhookSecretKey is not set")]
    [InlineData("not base64!", "Pdm:WebhookSecretKey is not valid base64")]
    [InlineData("c2hvcnQ=", "Pdm:WebhookSecretKey holds 5 bytes; AES-256 needs exactly 32")]
    public void Bad_key_settings_are_refused_naming_the_setting(string key, string message)
    {
        var ex = Assert.Throws<WebhookSecretProtectionException>(() => Protector(key));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_and_foreign_blobs_are_refused_with_the_reason()
    {
        var protector = Protector(AesGcmWebhookSecretProtector.GenerateKey());
        var stored = protector.Protect(WebhookSecret.Generate(), "sub_1");

        Assert.Contains("too short", Assert.Throws<WebhookSecretProtectionException>(() => protector.Unprotect(stored.AsSpan(0, 20), "sub_1")).Message, StringComparison.Ordinal);
        stored[0] = 9;
        Assert.Contains("format version 9", Assert.Throws<WebhookSecretProtectionException>(() => protector.Unprotect(stored, "sub_1")).Message, StringComparison.Ordinal);
    }
}
