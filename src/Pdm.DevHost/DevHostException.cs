namespace Pdm.DevHost;

/// <summary>The dev host cannot start: bad configuration (every problem listed) or a handler that never came up.</summary>
public sealed class DevHostException : Exception
{
    public DevHostException() { }

    public DevHostException(string message) : base(message) { }

    public DevHostException(string message, Exception innerException) : base(message, innerException) { }

    public DevHostException(string message, IReadOnlyList<string> problems)
        : base(message + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; } = [];
}
