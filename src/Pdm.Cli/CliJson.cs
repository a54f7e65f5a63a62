using System.Text.Json;

namespace Pdm.Cli;

/// <summary>How commands print JSON (--json): snake_case, as the benchmarks do.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
