namespace Pdm.DevHost.Handler;

/// <summary>How one invocation of a function ended, after its retry policy.</summary>
public sealed record InvocationOutcome
{
    public required string FunctionName { get; init; }
    public required bool Succeeded { get; init; }
    /// <summary>HTTP calls made: 1 plus the retries.</summary>
    public required int Attempts { get; init; }
    /// <summary>Status of the last attempt; null when the handler could not be reached.</summary>
    public int? StatusCode { get; init; }
    /// <summary>Why the last attempt failed; null on success.</summary>
    public string? Error { get; init; }
}
