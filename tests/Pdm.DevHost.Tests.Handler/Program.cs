using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

// Listens where the dev host says, records every request it gets as one JSON line in $TEST_HANDLER_RECORD, and
// answers 500 to the first $TEST_HANDLER_FAIL_<Function> invocations of a function to exercise retry paths.
// Queue messages steer it too: a message (Data.item, decoded as the host encodes it) that is a JSON object with
// "fail": true is answered 500, one with "delayMs": n is answered after n ms; every invocation records how many
// invocations of its function were running when it began (InFlight).
var port = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT")
    ?? throw new InvalidOperationException("FUNCTIONS_CUSTOMHANDLER_PORT is not set");
var recordPath = Environment.GetEnvironmentVariable("TEST_HANDLER_RECORD")
    ?? throw new InvalidOperationException("TEST_HANDLER_RECORD is not set");
var recordLock = new Lock();
var failuresLeft = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
var inFlight = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

// Data.item is the message text JSON-serialized into a string; a JSON object message parses once more.
JsonObject? QueueMessage(JsonNode? payload)
{
    if (payload?["Data"]?["item"] is not JsonValue item || !item.TryGetValue<string>(out var encoded))
    {
        return null;
    }

    try
    {
        return JsonNode.Parse(JsonNode.Parse(encoded)!.GetValue<string>()) as JsonObject;
    }
    catch (Exception ex) when (ex is JsonException or InvalidOperationException)
    {
        return null;
    }
}

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
    var running = inFlight.AddOrUpdate(function, 1, (_, n) => n + 1);
    var message = QueueMessage(payload);
    if (message?["delayMs"] is JsonValue delay)
    {
        await Task.Delay(delay.GetValue<int>());
    }

    inFlight.AddOrUpdate(function, 0, (_, n) => n - 1);
    var left = failuresLeft.AddOrUpdate(function,
        _ => int.TryParse(Environment.GetEnvironmentVariable($"TEST_HANDLER_FAIL_{function}"), out var n) ? n : 0,
        (_, n) => n);
    var fail = left > 0 || message?["fail"] is JsonValue failFlag && failFlag.GetValue<bool>();
    if (left > 0)
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
        ["InFlight"] = running,
    });
    return fail
        ? Results.StatusCode(StatusCodes.Status500InternalServerError)
        : Results.Json(new JsonObject { ["Outputs"] = new JsonObject(), ["Logs"] = new JsonArray("handled " + function) });
});

await app.RunAsync();
