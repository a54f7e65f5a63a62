using System.CommandLine;

// The commands write to the process's console, which the runner swaps per call: tests must not run at the same time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Pdm.Cli.Tests;

/// <summary>What one `pdm` invocation returned and printed.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs `pdm model …` and `pdm tenant …` in this process, as ./pdm would, capturing what it prints.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        var root = new RootCommand { ModelCommand.Create(), TenantCommand.Create(), EdgeCommand.Create() };
        var (output, error) = (new StringWriter(), new StringWriter());
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var code = await root.Parse(args).InvokeAsync();
            return new CliResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }
}
