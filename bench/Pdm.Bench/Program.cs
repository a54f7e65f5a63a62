using Pdm.Bench;

// `./pdm bench ingest|edge|score|train`: ./pdm builds this program only when a benchmark is asked for.
return await BenchCommand.Create().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration
{
    ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
});
