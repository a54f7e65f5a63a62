using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Npgsql;
using Pdm.Storage;

namespace Pdm.Functions.Api;

/// <summary>Every API error is application/problem+json with a title a person can act on.</summary>
internal static class Problems
{
    public static IResult Unauthorized(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");

    public static IResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");

    public static IResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static IResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static IResult Invalid(string field, string reason) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] }, detail: reason);

    /// <summary>
    /// Fills in what the framework's own empty answers (no route, wrong method, body too large, wrong content type)
    /// leave out, so the status-code-pages problem details say what to change.
    /// </summary>
    public static void Describe(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Detail is not null)
        {
            return;
        }
        var http = context.HttpContext;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status404NotFound => $"No API route matches '{TextRules.Shorten(http.Request.Path.ToString(), 100)}'.",
            StatusCodes.Status405MethodNotAllowed => $"'{TextRules.Shorten(http.Request.Path.ToString(), 100)}' does not take {http.Request.Method}.",
            StatusCodes.Status413PayloadTooLarge => http.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize is { } max
                ? $"The request body is larger than this endpoint's limit of {max} bytes."
                : "The request body is larger than allowed.",
            StatusCodes.Status415UnsupportedMediaType =>
                $"Send the body as application/json (got '{TextRules.Shorten(http.Request.ContentType ?? "no content type", 100)}').",
            StatusCodes.Status400BadRequest => "The request could not be read.",
            _ => null,
        };
    }
}

/// <summary>The body size an endpoint accepts; the routing middleware applies it before the endpoint reads.</summary>
internal sealed class RequestBodyLimit(long maxBytes) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize => maxBytes;
}

/// <summary>
/// Exceptions become problem details: a request the framework could not bind or read is the client's mistake (400,
/// 413, 415 with what was wrong), a conflict with stored data is 409, an unreachable database is 503 (callers retry),
/// anything else 500 with the trace id to find it in the logs.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            NpgsqlException { IsTransient: true } => (StatusCodes.Status503ServiceUnavailable, "Database unavailable", null),
            Invocation.InvalidInvocationException => (StatusCodes.Status400BadRequest, "Invalid invocation payload", exception.Message),
            BadHttpRequestException { InnerException: JsonException json } bad =>
                (bad.StatusCode, "Malformed JSON body", $"{bad.Message} {json.Message}"),
            BadHttpRequestException bad => (bad.StatusCode, Title(bad.StatusCode), bad.Message),
            JsonException json => (StatusCodes.Status400BadRequest, "Malformed JSON body", json.Message),
            StorageConflictException conflict => (StatusCodes.Status409Conflict, "Conflict", conflict.Message),
            // Class 22 is "data exception": a value the database cannot store. Validation should have caught it.
            PostgresException { SqlState: var state } data when state.StartsWith("22", StringComparison.Ordinal) =>
                (StatusCodes.Status400BadRequest, "Invalid value", data.MessageText),
            _ => (StatusCodes.Status500InternalServerError, "Internal error", null),
        };
        if (status >= 500)
        {
            UnhandledError(logger, httpContext.Request.Path, exception);
        }
        else if (exception is PostgresException)
        {
            UnvalidatedValue(logger, httpContext.Request.Path, exception);
        }
        httpContext.Response.StatusCode = status;
        var context = new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        };
        if (exception is BadHttpRequestException { InnerException: JsonException { Path: { } path } inner })
        {
            context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { [path] = [inner.Message] };
        }
        return await problems.TryWriteAsync(context);
    }

    private static string Title(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "Request body too large",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        _ => "Bad request",
    };

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Request {Path} failed")]
    private static partial void UnhandledError(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Request {Path} carried a value the database refused; validation should catch it")]
    private static partial void UnvalidatedValue(ILogger logger, string path, Exception exception);
}
