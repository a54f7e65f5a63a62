using System.Text.Json.Serialization;

namespace Pdm.Functions.Invocation;

/// <summary>The custom-handler answer: outputs by binding name, log lines, and the $return value.</summary>
internal sealed record InvocationResponse
{
    public Dictionary<string, object?> Outputs { get; init; } = [];
    public List<string> Logs { get; init; } = [];
    public object? ReturnValue { get; init; }

    public static InvocationResponse WithLogs(params string[] logs) => new() { Logs = [.. logs] };
}

[JsonSerializable(typeof(InvocationResponse))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
internal sealed partial class InvocationJson : JsonSerializerContext;
