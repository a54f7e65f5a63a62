// The edge module's sources, store-and-forward queue and IoT Hub connection arrive with the edge-module issue.
// Until then it only starts and stops cleanly, so the deployable exists and builds.
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
using var host = builder.Build();
await host.RunAsync();
