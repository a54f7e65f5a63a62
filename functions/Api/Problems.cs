using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

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
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] });
}

/// <summary>
/// Unexpected failures become problem details: an unreachable database is 503 (callers retry), anything else
/// 500 with the trace id to find it in the logs.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title) = exception switch
        {
            NpgsqlException { IsTransient: true } => (StatusCodes.Status503ServiceUnavailable, "Database unavailable"),
            Invocation.InvalidInvocationException => (StatusCodes.Status400BadRequest, "Invalid invocation payload"),
            System.Text.Json.JsonException or BadHttpRequestException => (StatusCodes.Status400BadRequest, "Malformed request"),
            _ => (StatusCodes.Status500InternalServerError, "Internal error"),
        };
        if (status >= 500)
        {
            UnhandledError(logger, httpContext.Request.Path, exception);
        }
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = status < 500 ? exception.Message : null },
        });
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Request {Path} failed")]
    private static partial void UnhandledError(ILogger logger, string path, Exception exception);
}
