using System.CommandLine;
using Pdm.Cli;

// ./pdm <command>: the local stack, the demo, database migrations and the benchmarks.
var root = new RootCommand("PDM Serverless: predictive maintenance for industrial machines")
{
    DemoCommand.Create(),
    StackCommand.Create(),
    DbCommand.Create(),
    BenchCommand.Create(),
    ModelCommand.Create(),
    SimulateCommand.Create(),
};
// Ctrl-C cancels the command; give it time to stop the handler and the servers in order before the process exits.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
