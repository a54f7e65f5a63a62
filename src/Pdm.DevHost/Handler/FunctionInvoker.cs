using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Pdm.DevHost.Configuration;

namespace Pdm.DevHost.Handler;

/// <summary>The Data and Metadata of one invocation, without the parts the invoker adds (sys, RetryContext).</summary>
internal sealed record InvocationInput(JsonObject Data, JsonObject Metadata);

/// <summary>
/// Posts invocation payloads to the handler as the Functions host does (POST /&lt;FunctionName&gt;, JSON body,
/// invocation headers) and applies the function's retry policy to failed attempts.
/// </summary>
internal sealed partial class FunctionInvoker : IDisposable
{
    /// <summary>Host version we claim in headers; the handler must not depend on its value.</summary>
    public const string HostVersion = "4.1000.0.0";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Func<Uri> _baseAddress;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly DevHostCounters _counters;
    private readonly ILogger _logger;

    public FunctionInvoker(Func<Uri> baseAddress, TimeSpan? functionTimeout, TimeProvider time, DevHostCounters counters, ILogger logger)
    {
        _baseAddress = baseAddress;
        _time = time;
        _counters = counters;
        _logger = logger;
        // The host gives the handler functionTimeout plus a minute; without a functionTimeout it waits forever.
        _http = new HttpClient
        {
            Timeout = functionTimeout is { } t ? t + TimeSpan.FromMinutes(1) : Timeout.InfiniteTimeSpan,
        };
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Invokes once, then retries failed attempts as the function's retry policy allows.</summary>
    public async Task<InvocationOutcome> InvokeAsync(FunctionDefinition function, InvocationInput input, CancellationToken cancellationToken)
    {
        var retries = 0;
        JsonObject? lastException = null;
        using var activity = DevHostTelemetry.Source.StartActivity("devhost invoke", ActivityKind.Producer);
        activity?.SetTag("faas.invoked_name", function.Name);
        while (true)
        {
            var retryContext = function.Retry is { } p
                ? new JsonObject
                {
                    ["RetryCount"] = retries,
                    ["MaxRetryCount"] = p.MaxRetryCount,
                    ["Exception"] = lastException?.DeepClone(),
                }
                : null;
            var body = Serialize(input, function.Name, _time.GetUtcNow().UtcDateTime, Guid.NewGuid(), retryContext);
            var (statusCode, error) = await PostAsync(function.Name, body, cancellationToken);
            if (error is null)
            {
                _counters.InvocationSucceeded();
                return new InvocationOutcome { FunctionName = function.Name, Succeeded = true, Attempts = retries + 1, StatusCode = statusCode };
            }

            _counters.InvocationFailed();
            _logger.InvocationFailed(function.Name, retries + 1, error);
            if (function.Retry is not { } policy || !policy.AllowsRetry(retries))
            {
                return new InvocationOutcome
                {
                    FunctionName = function.Name, Succeeded = false, Attempts = retries + 1, StatusCode = statusCode, Error = error,
                };
            }

            retries++;
            DevHostTelemetry.Retried();
            // Shaped like the exception the host's EnsureSuccessStatusCode raises, as Newtonsoft would write it.
            lastException = new JsonObject { ["ClassName"] = "System.Net.Http.HttpRequestException", ["Message"] = error };
            await Task.Delay(policy.DelayBefore(retries), _time, cancellationToken);
        }
    }

    /// <summary>The exact request body: {"Data":{...},"Metadata":{...,"sys":{...},"RetryContext":{...}}}.</summary>
    public static byte[] Serialize(InvocationInput input, string methodName, DateTime utcNow, Guid randGuid, JsonObject? retryContext)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("Data");
            input.Data.WriteTo(writer);
            writer.WriteStartObject("Metadata");
            foreach (var (name, value) in input.Metadata)
            {
                writer.WritePropertyName(name);
                WriteNode(writer, value);
            }

            writer.WriteStartObject("sys");
            writer.WriteString("MethodName", methodName);
            writer.WriteString("UtcNow", utcNow);
            writer.WriteString("RandGuid", randGuid);
            writer.WriteEndObject();
            if (retryContext is not null)
            {
                writer.WritePropertyName("RetryContext");
                retryContext.WriteTo(writer);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteNode(Utf8JsonWriter writer, JsonNode? node)
    {
        if (node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            node.WriteTo(writer);
        }
    }

    /// <returns>The status (null when unreachable) and, for a failed attempt, why it failed.</returns>
    private async Task<(int? StatusCode, string? Error)> PostAsync(string functionName, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseAddress(), functionName));
        var invocationId = Guid.NewGuid().ToString();
        request.Headers.Add("X-Azure-Functions-InvocationId", invocationId);
        request.Headers.Add("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Azure-Functions-Host", HostVersion));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                return (status, $"Response status code does not indicate success: {status} ({response.ReasonPhrase}).");
            }

            return (status, LogResult(functionName, invocationId, text));
        }
        catch (HttpRequestException ex)
        {
            return (null, $"Handler unreachable: {ex.Message}");
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"Handler did not answer within {_http.Timeout}: {ex.Message}");
        }
    }

    /// <summary>Writes the handler's Logs lines to our log; a body that is not the result JSON fails the invocation, as in the host.</summary>
    private string? LogResult(string functionName, string invocationId, string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            if (JsonNode.Parse(text) is JsonObject result && result["Logs"] is JsonArray logs && _logger.IsEnabled(LogLevel.Information))
            {
                foreach (var line in logs)
                {
                    _logger.HandlerInvocationLog(functionName, invocationId, line?.ToString() ?? "");
                }
            }

            return null;
        }
        catch (JsonException ex)
        {
            return $"Response body is not the invocation result JSON: {ex.Message}";
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7010, Level = LogLevel.Warning, Message = "{FunctionName} attempt {Attempt} failed: {Reason}")]
    public static partial void InvocationFailed(this ILogger logger, string functionName, int attempt, string reason);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Information, Message = "{FunctionName} ({InvocationId}): {Line}")]
    public static partial void HandlerInvocationLog(this ILogger logger, string functionName, string invocationId, string line);
}
