namespace Pdm.Webhooks.Tests;

public sealed class WebhookSecretTests
{
    [Fact]
    public void Generated_secrets_are_whsec_32_random_bytes_and_differ()
    {
        var a = WebhookSecret.Generate();
        var b = WebhookSecret.Generate();

        Assert.StartsWith("whsec_", a.Encoded, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(a.Encoded[6..]).Length);
        Assert.NotEqual(a.Encoded, b.Encoded);
    }

    [Fact]
    public void Parse_reads_what_was_shown_to_the_tenant()
    {
        var secret = WebhookSecret.Generate();
        Assert.Equal(secret.Encoded, WebhookSecret.Parse(secret.Encoded).Encoded);
    }

    [Theory]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'")]
    [InlineData("whsec_not base64!", "not valid base64")]
    [InlineData("whsec_c2hvcnQ=", "has 5 bytes")]
    public void Bad_secrets_are_refused_with_the_reason(string encoded, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => WebhookSecret.Parse(encoded));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_hides_the_secret_so_logs_cannot_leak_it()
    {
        var secret = WebhookSecret.Generate();
        Assert.Equal("whsec_***", secret.ToString());
        Assert.DoesNotContain(secret.Encoded, new WebhookSecretSet(secret).ToString(), StringComparison.Ordinal);
    }
}
