using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Azure.Monitor.OpenTelemetry.AspNetCore;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pdm.Functions;
using Pdm.Functions.AlertTick;
using Pdm.Functions.Api;
using Pdm.Functions.DeliverWebhook;
using Pdm.Functions.Ingest;
using Pdm.Functions.Predict;
using Pdm.Functions.PublishAlerts;
using Pdm.Functions.ReplayDeadLetters;
using Pdm.Functions.Retention;
using Pdm.Functions.Rollup;
using Pdm.ServiceDefaults;

[assembly: InternalsVisibleTo("Pdm.Functions.Tests")]

// Azure Functions custom handler: the host starts this process, passes the port in FUNCTIONS_CUSTOMHANDLER_PORT,
// posts trigger invocations to /<FunctionName> and proxies HTTP requests under /api unchanged.
var builder = WebApplication.CreateSlimBuilder(args);
var port = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
if (port is not null)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
}

// Npgsql emits its own "Npgsql" source and meter (Npgsql.OpenTelemetry 10.0.3 needs Npgsql 10.0.3; we pin 10.0.0).
builder.AddPdmTelemetry("pdm-functions",
    tracing => tracing.AddAspNetCoreInstrumentation().AddSource("Npgsql"),
    metrics => metrics.AddAspNetCoreInstrumentation().AddMeter("Npgsql"),
    // With APPLICATIONINSIGHTS_CONNECTION_STRING: logs, traces and metrics to Application Insights. Fixed-ratio sampling
    // (Pdm__Telemetry__SamplingRatio, default all) instead of the distro's rate limit, which drops traces, and the logs in
    // them, at random under load: the message id is only findable in what is kept.
    (telemetry, connectionString) => telemetry.UseAzureMonitor(options =>
    {
        options.ConnectionString = connectionString;
        options.TracesPerSecond = null;
        options.SamplingRatio = builder.Configuration.GetValue("Pdm:Telemetry:SamplingRatio", 1.0F);
    }));
// ASP.NET Core's lines for every request (starting, endpoint, result, finished) cost more than a dashboard read, and the
// requests are traced anyway: warnings only, unless Logging__LogLevel__Microsoft.AspNetCore says otherwise.
if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
{
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
}
builder.Services.AddOptions<PdmOptions>().BindConfiguration(PdmOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
// Endpoints without their own limit (timer invocations, requests that take no body) get this one.
builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ApiOptions>>((kestrel, api) =>
    kestrel.Limits.MaxRequestBodySize = api.Value.MaxRequestBodyBytes);
builder.Services.AddPdmFunctions();
builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = Problems.Describe);
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
// Binding failures throw with a message naming the parameter; ProblemExceptionHandler turns them into 400/415.
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
// The handler listens on loopback only, so its peer is always the Functions host (or the dev host); it sets
// X-Forwarded-For to the address it saw the client at. The default known proxies are loopback.
builder.Services.Configure<ForwardedHeadersOptions>(options => options.ForwardedHeaders = ForwardedHeaders.XForwardedFor);
builder.Services.AddApiKeyAuthentication();
builder.Services.AddApiRateLimits();
builder.Services.AddApiDocument();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseForwardedHeaders();
app.UseRouting();
// Authorization authenticates the key before the endpoint binds (and so reads) the body.
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

// The host polls / until it gets any answer before it sends the first invocation.
app.MapGet("/", () => Results.Text("PDM functions handler"));
var invocationLimit = new RequestBodyLimit(app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.MaxInvocationBodyBytes);
app.MapGroup("").WithMetadata(invocationLimit).MapIngest();
app.MapReplayDeadLetters();
app.MapPredict();
app.MapAlertTick();
app.MapPublishAlerts();
app.MapDeliverWebhook();
app.MapRollup();
app.MapRetention();
app.MapApi();
app.MapDashboardPages();
app.MapApiDocument();

await app.RunAsync();

/// <summary>Entry point, named so integration tests can start the app.</summary>
public partial class Program;
