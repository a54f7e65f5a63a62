using System.CommandLine;
using Pdm.Cli;

// ./pdm <command>: the local stack, the demo, database migrations and models (./pdm runs the benchmarks from bench/Pdm.Bench).
var root = new RootCommand("PDM Serverless: predictive maintenance for industrial machines (benchmarks: ./pdm bench --help)")
{
    DemoCommand.Create(),
    StackCommand.Create(),
    DbCommand.Create(),
    TenantCommand.Create(),
    ModelCommand.Create(),
    SimulateCommand.Create(),
    EdgeCommand.Create(),
};
// Ctrl-C cancels the command; give it time to stop the handler and the servers in order before the process exits.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
