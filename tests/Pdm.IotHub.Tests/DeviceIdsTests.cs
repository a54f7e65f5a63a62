using Pdm.IotHub;

namespace Pdm.IotHub.Tests;

public sealed class DeviceIdsTests
{
    [Theory]
    [InlineData("demo-gateway-01")]
    [InlineData("bench-gateway")]
    [InlineData("plant7.gw_1")]
    [InlineData("gw-0123456789abcdef")]
    [InlineData("PDMgateway")]
    [InlineData("pdm_gateway")]
    public void Ids_the_demo_tools_and_tests_use_stay_valid(string deviceId)
    {
        Assert.True(DeviceIds.IsValid(deviceId, out var reason), reason);
    }

    [Fact]
    public void An_id_of_IoT_Hubs_maximum_length_is_valid_and_one_more_character_is_not()
    {
        Assert.True(DeviceIds.IsValid(new string('a', 128), out _));

        Assert.False(DeviceIds.IsValid(new string('a', 129), out var reason));
        Assert.Contains("129 characters", reason, StringComparison.Ordinal);
        Assert.Contains("128", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pdm-service")]
    [InlineData("pdm-devhost")]
    [InlineData("PDM-Service")]
    [InlineData("Pdm-anything")]
    public void Ids_in_the_platforms_namespace_are_reserved(string deviceId)
    {
        Assert.False(DeviceIds.IsValid(deviceId, out var reason));
        Assert.Contains("reserved", reason, StringComparison.Ordinal);
        Assert.Contains("'pdm-'", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gw\n")]
    [InlineData("gw\nuser x")]
    [InlineData("$edgeHub")]
    [InlineData("a:b")]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("a#")]
    [InlineData("a+")]
    [InlineData("-a")]
    [InlineData("gerät")]
    public void Ids_that_would_break_the_brokers_files_or_topics_are_refused_with_a_reason(string deviceId)
    {
        Assert.False(DeviceIds.IsValid(deviceId, out var reason));
        Assert.StartsWith("device id", reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason);
    }
}
