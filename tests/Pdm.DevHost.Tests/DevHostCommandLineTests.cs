namespace Pdm.DevHost.Tests;

public class DevHostCommandLineTests
{
    [Fact]
    public void Options_settings_and_broker_are_read_from_arguments_with_secrets_from_the_environment()
    {
        var environment = new Dictionary<string, string> { ["PDM_DEVHOST_MQTT_PASSWORD"] = "secret" };

        var ok = DevHostCommandLine.TryParse(
            ["--functions-dir", "/app", "--setting", "A=1", "--setting", "B=x=y", "--mqtt-host", "127.0.0.1", "--mqtt-user", "svc", "--http-port", "0"],
            environment.GetValueOrDefault, out var options, out var error);

        Assert.True(ok, error);
        Assert.Equal("/app", options.FunctionAppDirectory);
        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "x=y" }, options.Environment);
        Assert.Equal(0, options.HttpPort);
        Assert.Equal(("127.0.0.1", 1883, "svc", "secret"), (options.Mqtt!.Host, options.Mqtt.Port, options.Mqtt.Username, options.Mqtt.Password));
    }

    [Theory]
    [InlineData(new[] { "--functions-dir", "/app", "--http-port", "70000" }, "--http-port '70000' must be a whole number in 0-65535")]
    [InlineData(new[] { "--functions-dir", "/app", "--setting", "novalue" }, "--setting 'novalue' must look like KEY=VALUE")]
    [InlineData(new[] { "--functions-dir", "/app", "--colour", "red" }, "Unknown option --colour")]
    [InlineData(new[] { "--http-port", "1" }, "--functions-dir is required")]
    public void Bad_arguments_are_rejected_with_the_reason(string[] args, string expected)
    {
        Assert.False(DevHostCommandLine.TryParse(args, _ => null, out _, out var error));
        Assert.Equal(expected, error);
    }
}
