using Microsoft.Extensions.Options;
using Pdm.Functions;
using Pdm.Functions.Api;
using Pdm.Functions.Ingest;
using Pdm.Functions.Predict;
using Pdm.Functions.ReplayDeadLetters;

// Azure Functions custom handler: the host starts this process, passes the port in FUNCTIONS_CUSTOMHANDLER_PORT,
// posts trigger invocations to /<FunctionName> and proxies HTTP requests under /api unchanged.
var builder = WebApplication.CreateSlimBuilder(args);
var port = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
if (port is not null)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
}

builder.Services.AddOptions<PdmOptions>().BindConfiguration(PdmOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddPdmFunctions();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();

var app = builder.Build();
app.UseExceptionHandler();

// The host polls / until it gets any answer before it sends the first invocation.
app.MapGet("/", () => Results.Text("PDM functions handler"));
app.MapIngest();
app.MapReplayDeadLetters();
app.MapPredict();
app.MapApi();

await app.RunAsync();

/// <summary>Entry point, named so integration tests can start the app.</summary>
public partial class Program;
