using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Pdm.Edge;
using Pdm.Edge.Cloud;
using Pdm.LocalStack;

namespace Pdm.EdgeModule.Tests;

/// <summary>The module's host: what AddPdmEdge composes, and what the process does with settings that cannot work.</summary>
public sealed class EdgeModuleHostTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("pdm-edge-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_host_composes_the_runtime_from_configuration_and_reports_status()
    {
        var configFile = Path.Combine(_directory, "edge-config.json");
        await File.WriteAllTextAsync(configFile, """{ "schemaVersion": 1, "gatewayId": "host-gw" }""");
        using var host = Build(new()
        {
            ["Edge:DataDirectory"] = Path.Combine(_directory, "data"),
            ["Edge:ConfigurationFile"] = configFile,
            ["Edge:StatusInterval"] = "00:00:00.2",
            // Nobody listens there: the runtime starts anyway and keeps trying, as with a broker that is away.
            ["Cloud:Mode"] = "Local",
            ["Cloud:LocalPort"] = FreePort.Pick().ToString(CultureInfo.InvariantCulture),
            ["Cloud:LocalDeviceId"] = "host-gw",
            ["Cloud:LocalPassword"] = "secret",
        });

        await host.StartAsync();
        var service = host.Services.GetRequiredService<EdgeRuntimeService>();
        Assert.Equal(CloudMode.Local, service.Runtime!.Cloud.Mode);
        Assert.Equal(TimeSpan.FromMilliseconds(200), host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value.StatusInterval);
        var status = Path.Combine(_directory, "data", "status.json");
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (!File.Exists(status))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "no status.json from the composed runtime");
            await Task.Delay(50);
        }
        await host.StopAsync();
        Assert.Null(service.Runtime);
    }

    [Fact]
    public async Task An_invalid_option_fails_the_host_at_start_naming_the_setting()
    {
        using var host = Build(new()
        {
            ["Edge:DataDirectory"] = Path.Combine(_directory, "data"),
            ["Edge:ConfigurationFile"] = Path.Combine(_directory, "edge-config.json"),
            ["Edge:StatusInterval"] = "00:00:00",
            ["Cloud:Mode"] = "Local",
            ["Cloud:LocalDeviceId"] = "host-gw",
            ["Cloud:LocalPassword"] = "secret",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Edge:StatusInterval must be between 00:00:00.1 and 1.00:00:00", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_directory, "data")), "nothing started before the options were checked");
    }

    [Fact]
    public async Task Local_mode_without_a_configuration_file_fails_the_host_at_start()
    {
        using var host = Build(new()
        {
            ["Edge:DataDirectory"] = Path.Combine(_directory, "data"),
            ["Cloud:Mode"] = "Local",
            ["Cloud:LocalDeviceId"] = "host-gw",
            ["Cloud:LocalPassword"] = "secret",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("in Local mode there is no module twin, so set a configuration file. (Edge:ConfigurationFile)", error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_module_process_exits_with_code_1_and_says_which_setting_is_wrong()
    {
        // The CLI's demo and bench start the module this way (EdgeModuleProcess): Edge__* and Cloud__* in the environment.
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["Edge__DataDirectory"] = Path.Combine(_directory, "data"),
                ["Edge__ConfigurationFile"] = Path.Combine(_directory, "edge-config.json"),
                ["Edge__StatusInterval"] = "00:00:00",
                ["Cloud__Mode"] = "Local",
                ["Cloud__LocalPort"] = "1883",
                ["Cloud__LocalDeviceId"] = "host-gw",
                ["Cloud__LocalPassword"] = "secret",
                ["Logging__Console__FormatterName"] = "simple",
            },
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Pdm.EdgeModule.dll"));
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Patience);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("The edge module cannot start: DataAnnotation validation failed for 'EdgeOptions' members: 'StatusInterval' with the error: "
            + "'Edge:StatusInterval must be between", await output + await errors, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddPdmEdge();
        return builder.Build();
    }
}
