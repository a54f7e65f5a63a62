using Pdm.IotHub.IotEdge;

namespace Pdm.IotHub.Tests.IotEdge;

public class IotEdgeEnvironmentTests
{
    public static Dictionary<string, string> Complete() => new(StringComparer.Ordinal)
    {
        ["IOTEDGE_WORKLOADURI"] = "unix:///var/run/iotedge/workload.sock",
        ["IOTEDGE_IOTHUBHOSTNAME"] = "pdm-hub.azure-devices.net",
        ["IOTEDGE_GATEWAYHOSTNAME"] = "gateway-01",
        ["IOTEDGE_DEVICEID"] = "gateway-01",
        ["IOTEDGE_MODULEID"] = "pdm",
        ["IOTEDGE_MODULEGENERATIONID"] = "637000000000000000",
        ["IOTEDGE_APIVERSION"] = "2019-11-05",
        ["IOTEDGE_AUTHSCHEME"] = "sasToken",
    };

    [Fact]
    public void Complete_environment_parses_every_variable()
    {
        var parsed = IotEdgeEnvironment.Parse(IotEdgeEnvironment.From(Complete()));

        Assert.Equal(new Uri("unix:///var/run/iotedge/workload.sock"), parsed.WorkloadUri);
        Assert.Equal("pdm-hub.azure-devices.net", parsed.IotHubHostName);
        Assert.Equal("gateway-01", parsed.GatewayHostName);
        Assert.Equal("gateway-01", parsed.DeviceId);
        Assert.Equal("pdm", parsed.ModuleId);
        Assert.Equal("637000000000000000", parsed.ModuleGenerationId);
        Assert.Equal("2019-11-05", parsed.ApiVersion);
        Assert.Equal("sasToken", parsed.AuthScheme);
    }

    [Theory]
    [InlineData("IOTEDGE_WORKLOADURI")]
    [InlineData("IOTEDGE_IOTHUBHOSTNAME")]
    [InlineData("IOTEDGE_GATEWAYHOSTNAME")]
    [InlineData("IOTEDGE_DEVICEID")]
    [InlineData("IOTEDGE_MODULEID")]
    [InlineData("IOTEDGE_MODULEGENERATIONID")]
    public void Missing_variable_is_named_in_the_error(string variable)
    {
        var variables = Complete();
        variables.Remove(variable);

        Assert.False(IotEdgeEnvironment.TryParse(IotEdgeEnvironment.From(variables), out _, out var error));
        Assert.Contains($"{variable} is not set", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_missing_variable_is_named_at_once()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IotEdgeEnvironment.Parse(IotEdgeEnvironment.From(new Dictionary<string, string>
        {
            ["IOTEDGE_WORKLOADURI"] = "unix:///var/run/iotedge/workload.sock",
            ["IOTEDGE_DEVICEID"] = " ",
        }))).Message;

        Assert.Contains("IOTEDGE_IOTHUBHOSTNAME, IOTEDGE_GATEWAYHOSTNAME, IOTEDGE_DEVICEID, IOTEDGE_MODULEID, IOTEDGE_MODULEGENERATIONID are not set", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Optional_api_version_and_auth_scheme_may_be_absent()
    {
        var variables = Complete();
        variables.Remove("IOTEDGE_APIVERSION");
        variables.Remove("IOTEDGE_AUTHSCHEME");

        var parsed = IotEdgeEnvironment.Parse(IotEdgeEnvironment.From(variables));

        Assert.Null(parsed.ApiVersion);
        Assert.Equal(IotEdgeEnvironment.SasTokenAuthScheme, parsed.AuthScheme);
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:15580")]
    [InlineData("unix://")]
    [InlineData("workload.sock")]
    public void Workload_uri_that_is_neither_unix_nor_http_is_rejected_with_reason(string uri)
    {
        var variables = Complete();
        variables["IOTEDGE_WORKLOADURI"] = uri;

        Assert.False(IotEdgeEnvironment.TryParse(IotEdgeEnvironment.From(variables), out _, out var error));
        Assert.Contains($"IOTEDGE_WORKLOADURI '{uri}' is not a workload URI", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Http_workload_uri_is_accepted()
    {
        var variables = Complete();
        variables["IOTEDGE_WORKLOADURI"] = "http://127.0.0.1:15581";

        Assert.Equal("http", IotEdgeEnvironment.Parse(IotEdgeEnvironment.From(variables)).WorkloadUri.Scheme);
    }

    [Fact]
    public void Auth_scheme_other_than_sas_token_is_rejected_with_reason()
    {
        var variables = Complete();
        variables["IOTEDGE_AUTHSCHEME"] = "x509";

        Assert.False(IotEdgeEnvironment.TryParse(IotEdgeEnvironment.From(variables), out _, out var error));
        Assert.Equal("IOTEDGE_AUTHSCHEME is 'x509'; only 'sasToken' (tokens signed by the workload API) is supported.", error);
    }

    [Fact]
    public void Is_present_only_when_the_runtime_set_its_variables()
    {
        Assert.True(IotEdgeEnvironment.IsPresent(IotEdgeEnvironment.From(Complete())));
        Assert.True(IotEdgeEnvironment.IsPresent(IotEdgeEnvironment.From(new Dictionary<string, string> { ["IOTEDGE_MODULEID"] = "pdm" })));
        Assert.False(IotEdgeEnvironment.IsPresent(IotEdgeEnvironment.From(new Dictionary<string, string> { ["PATH"] = "/usr/bin" })));
    }
}
