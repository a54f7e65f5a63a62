using System.CommandLine;
using Pdm.Cli;

// ./pdm <command>: the local stack, the demo, database migrations and the benchmarks.
var root = new RootCommand("PDM Serverless: predictive maintenance for industrial machines")
{
    DemoCommand.Create(),
    StackCommand.Create(),
    DbCommand.Create(),
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
