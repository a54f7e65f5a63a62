// The edge module's process: settings from environment variables (IoT Edge passes the deployment manifest's `env`
// this way) or appsettings.json, then the runtime in Pdm.Edge until SIGTERM.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pdm.Edge;
using Pdm.Edge.Cloud;
using Pdm.EdgeModule;
using Pdm.ServiceDefaults;

var builder = Host.CreateApplicationBuilder(args);
builder.AddPdmTelemetry("pdm-edge");
var edge = builder.Configuration.GetSection("Edge");
var settings = new EdgeModuleSettings
{
    DataDirectory = edge["DataDirectory"] ?? "/app/data",
    ConfigurationFile = edge["ConfigurationFile"],
    StatusInterval = edge.GetValue("StatusInterval", TimeSpan.FromSeconds(10)),
    Cloud = builder.Configuration.GetSection(CloudSettings.Section).Get<CloudSettings>() ?? new CloudSettings(),
};
builder.Services.AddSingleton(settings);
builder.Services.AddHostedService<EdgeModuleService>();
using var host = builder.Build();
await host.RunAsync();
