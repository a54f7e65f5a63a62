using Pdm.IotHub;

namespace Pdm.IotHub.Tests;

public sealed class SasTokenTests
{
    private const string Key = "q+DKVojmMz014RjAwpNGZbAkdOocSVWMKPOccLfUmLE=";
    private static readonly DateTimeOffset Expiry = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    [Fact]
    public void Signature_matches_the_published_vector_of_the_Azure_IoT_Java_SDK()
    {
        // Azure/azure-iot-sdks, java SignatureIT.signatureIsCorrect: that SDK signed "{uri}\n{expiry}" with this key and
        // expected "ZrTYgp6uRmbDl4lzzewxFD9FoaNKIK7G2bdivDbtc9A%3D" (URL-encoded). It checks the HMAC and key decoding.
        var signature = SasToken.Sign("sdktesthub.private.azure-devices-int.net/devices/test8\n1462333672", Key);

        Assert.Equal("ZrTYgp6uRmbDl4lzzewxFD9FoaNKIK7G2bdivDbtc9A=", signature);
    }

    [Fact]
    public void Device_token_signs_the_encoded_resource_uri_and_expiry()
    {
        // Expected signature computed independently while writing this test:
        // printf '%s\n%s' 'myhub.azure-devices.net%2Fdevices%2Fdevice-1' 1700000000 \
        //   | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(echo "$Key" | base64 -d | xxd -p -c 256) -binary | base64
        // -> zZRKsmBNpHTgRf5QjBX4wqK/0CoLYhG/dfFkxc7GMoA=
        var token = SasToken.Create("myhub.azure-devices.net/devices/device-1", Key, Expiry);

        Assert.Equal(
            "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice-1&sig=zZRKsmBNpHTgRf5QjBX4wqK%2F0CoLYhG%2FdfFkxc7GMoA%3D&se=1700000000",
            token);
    }

    [Fact]
    public void Policy_token_ends_with_the_policy_name()
    {
        // Same openssl recipe over 'myhub.azure-devices.net%2Fdevices' -> VSxj/NMqPm8lYyf8AzLIlNzpTu9jn/wvSbEwmfh7u5Q=
        var token = SasToken.Create("myhub.azure-devices.net/devices", Key, Expiry, "registryReadWrite");

        Assert.Equal(
            "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices&sig=VSxj%2FNMqPm8lYyf8AzLIlNzpTu9jn%2FwvSbEwmfh7u5Q%3D&se=1700000000&skn=registryReadWrite",
            token);
    }

    [Fact]
    public void Expiry_is_whole_seconds_since_the_epoch()
    {
        var token = SasToken.Create("h/devices/d", Key, new DateTimeOffset(2030, 1, 1, 0, 0, 0, 500, TimeSpan.Zero));

        Assert.EndsWith("&se=1893456000", token);
    }

    [Fact]
    public void Key_that_is_not_base64_is_rejected_with_reason()
    {
        var error = Assert.Throws<FormatException>(() => SasToken.Create("h/devices/d", "not base64!", Expiry));

        Assert.Contains("not valid base64", error.Message);
    }

    [Theory]
    [InlineData("hub.azure-devices.net", "dev", null, "hub.azure-devices.net/devices/dev")]
    [InlineData("hub.azure-devices.net", "dev", "mod", "hub.azure-devices.net/devices/dev/modules/mod")]
    public void Resource_uri_names_the_device_or_module(string hub, string device, string? module, string expected) =>
        Assert.Equal(expected, SasToken.ResourceUri(hub, device, module));
}
