using System.Security.Cryptography;
using System.Text;

namespace Pdm.Webhooks.Tests;

public sealed class WebhookSignerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static Dictionary<string, string> Headers(WebhookSignatureHeaders h) => new()
    {
        [WebhookSignatureHeaders.IdHeader] = h.Id,
        [WebhookSignatureHeaders.TimestampHeader] = h.Timestamp,
        [WebhookSignatureHeaders.SignatureHeader] = h.Signature,
    };

    [Fact]
    public void Signature_matches_the_specifications_example()
    {
        // The worked example of the Standard Webhooks specification (and of Svix's documentation).
        var secret = WebhookSecret.Parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        var headers = WebhookSigner.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", DateTimeOffset.FromUnixTimeSeconds(1614265330), "{\"test\": 2432232314}", [secret]);

        Assert.Equal("1614265330", headers.Timestamp);
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", headers.Signature);
    }

    [Fact]
    public void Signature_is_the_hmac_of_id_timestamp_and_body_in_utf8()
    {
        var secret = WebhookSecret.Generate();
        const string body = "{\"machine\":\"Fräse α\"}";
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_987);

        var headers = WebhookSigner.Sign("evt_1", at, body, [secret]);

        var key = Convert.FromBase64String(secret.Encoded["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"evt_1.1700000000.{body}")));
        Assert.Equal("v1," + expected, headers.Signature);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Reference_implementation_verifies_our_signature()
    {
        var secret = WebhookSecret.Generate();
        const string body = "{\"id\":\"evt_a\",\"type\":\"alert.opened\",\"data\":{\"note\":\"Lager überhitzt\"}}";

        var headers = WebhookSigner.Sign("evt_a", Now, body, [secret]);

        Assert.Equal(["ok"], await ReferenceVerifier.VerifyAsync(body, Headers(headers), secret.Encoded));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task During_rotation_both_secrets_verify_and_an_unrelated_one_does_not()
    {
        var old = WebhookSecret.Generate();
        var next = WebhookSecret.Generate();
        var secrets = new WebhookSecretSet(old).Rotate(next, Now, TimeSpan.FromDays(1)).ValidAt(Now);
        const string body = "{\"id\":\"evt_r\"}";

        var headers = WebhookSigner.Sign("evt_r", Now, body, secrets);

        Assert.Equal(2, headers.Signature.Split(' ').Length);
        var results = await ReferenceVerifier.VerifyAsync(body, Headers(headers), old.Encoded, next.Encoded, WebhookSecret.Generate().Encoded);
        Assert.Equal("ok", results[0]);
        Assert.Equal("ok", results[1]);
        Assert.NotEqual("ok", results[2]);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Reference_implementation_rejects_a_tampered_body_or_id()
    {
        var secret = WebhookSecret.Generate();
        var headers = WebhookSigner.Sign("evt_t", Now, "{\"severity\":\"LOW\"}", [secret]);

        var tamperedBody = await ReferenceVerifier.VerifyAsync("{\"severity\":\"CRITICAL\"}", Headers(headers), secret.Encoded);
        var tamperedId = await ReferenceVerifier.VerifyAsync("{\"severity\":\"LOW\"}", Headers(headers with { Id = "evt_u" }), secret.Encoded);

        Assert.Contains("signature", tamperedBody[0], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("signature", tamperedId[0], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Secret_set_signs_with_the_previous_secret_only_until_it_expires()
    {
        var set = new WebhookSecretSet(WebhookSecret.Generate()).Rotate(WebhookSecret.Generate(), Now, TimeSpan.FromHours(24));

        Assert.Equal(2, set.ValidAt(Now.AddHours(23)).Count);
        Assert.Equal([set.Current], set.ValidAt(Now.AddHours(24)));
    }

    [Theory]
    [InlineData("evt.1")]
    [InlineData("evt 1")]
    public void Ids_that_would_make_the_signed_content_ambiguous_are_refused(string id)
    {
        var ex = Assert.Throws<ArgumentException>(() => WebhookSigner.Sign(id, Now, "{}", [WebhookSecret.Generate()]));
        Assert.Contains("dots or spaces", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_without_a_secret_is_refused()
    {
        Assert.Throws<ArgumentException>(() => WebhookSigner.Sign("evt_1", Now, "{}", []));
    }
}
