using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

// Listens where the dev host says, records every request it gets as one JSON line in $TEST_HANDLER_RECORD, and
// answers 500 to the first $TEST_HANDLER_FAIL_<Function> invocations of a function to exercise retry paths.
var port = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT")
    ?? throw new InvalidOperationException("FUNCTIONS_CUSTOMHANDLER_PORT is not set");
var recordPath = Environment.GetEnvironmentVariable("TEST_HANDLER_RECORD")
    ?? throw new InvalidOperationException("TEST_HANDLER_RECORD is not set");
var recordLock = new Lock();
var failuresLeft = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

void Record(JsonObject entry)
{
    lock (recordLock)
    {
        File.AppendAllText(recordPath, entry.ToJsonString() + "\n");
    }
}

JsonObject Headers(HttpRequest request) =>
    new(request.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value.ToString())));

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
var app = builder.Build();

Record(new JsonObject
{
    ["Kind"] = "start",
    ["Port"] = port,
    ["WorkerId"] = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_WORKER_ID"),
    ["AppRoot"] = Environment.GetEnvironmentVariable("FUNCTIONS_APP_ROOT_PATH"),
    ["TestSetting"] = Environment.GetEnvironmentVariable("TEST_SETTING"),
});

app.MapPost("/_test/exit", () => Environment.Exit(3));

app.Map("/api/{**rest}", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
    var echo = new JsonObject
    {
        ["Kind"] = "http",
        ["Method"] = request.Method,
        ["Path"] = request.Path.Value,
        ["Query"] = request.QueryString.Value,
        ["Headers"] = Headers(request),
        ["Body"] = body,
    };
    Record(echo);
    request.HttpContext.Response.Headers["X-Echo"] = "yes";
    return Results.Json(echo, statusCode: StatusCodes.Status201Created);
});

app.MapPost("/{function}", async (string function, HttpRequest request) =>
{
    var payload = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
    var left = failuresLeft.AddOrUpdate(function,
        _ => int.TryParse(Environment.GetEnvironmentVariable($"TEST_HANDLER_FAIL_{function}"), out var n) ? n : 0,
        (_, n) => n);
    var fail = left > 0;
    if (fail)
    {
        failuresLeft[function] = left - 1;
    }

    Record(new JsonObject
    {
        ["Kind"] = "invoke",
        ["Function"] = function,
        ["Headers"] = Headers(request),
        ["Payload"] = payload,
        ["Answered"] = fail ? 500 : 200,
    });
    return fail
        ? Results.StatusCode(StatusCodes.Status500InternalServerError)
        : Results.Json(new JsonObject { ["Outputs"] = new JsonObject(), ["Logs"] = new JsonArray("handled " + function) });
});

await app.RunAsync();
