using System.Threading.Channels;
using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

/// <summary>Real files in a temp folder; every wait has a timeout.</summary>
public sealed class FileConfigurationWatcherTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly string _directory = Directory.CreateTempSubdirectory("pdm-edge-config-").FullName;
    private readonly ConfigurationStore _store = new();
    private readonly Channel<ConfigurationApplyResult> _results = Channel.CreateUnbounded<ConfigurationApplyResult>();

    public FileConfigurationWatcherTests()
    {
        _store.Changed += (_, e) => _results.Writer.TryWrite(e.Result);
        _store.Rejected += (_, e) => _results.Writer.TryWrite(e);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Change_to_the_file_is_applied()
    {
        var path = Path.Combine(_directory, "edge.json");
        await File.WriteAllTextAsync(path, ConfigurationSamples.Minimal("EG_M1"));
        using var stop = new CancellationTokenSource();
        var run = Watcher(path).RunAsync(stop.Token);

        Assert.Equal(ConfigurationApplyStatus.Applied, (await NextAsync()).Status);
        await File.WriteAllTextAsync(path, ConfigurationSamples.Minimal("EG_M2"));
        var second = await NextAppliedAsync();

        Assert.Equal(ConfigurationApplyStatus.Applied, second.Status);
        Assert.Equal(2, second.Version);
        Assert.Equal("EG_M2", _store.Current!.Modbus[0].MachineId);
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Half_written_file_is_rejected_the_old_configuration_runs_and_the_next_write_applies()
    {
        var path = Path.Combine(_directory, "edge.json");
        await File.WriteAllTextAsync(path, ConfigurationSamples.Minimal("EG_M1"));
        using var stop = new CancellationTokenSource();
        var run = Watcher(path).RunAsync(stop.Token);
        Assert.Equal(ConfigurationApplyStatus.Applied, (await NextAsync()).Status);

        var full = ConfigurationSamples.Minimal("EG_M2");
        await File.WriteAllTextAsync(path, full[..(full.Length / 2)]);
        var rejected = await NextAsync();

        // Depending on when the read lands, the file is empty or cut off; either way it is rejected.
        Assert.Equal(ConfigurationApplyStatus.Rejected, rejected.Status);
        Assert.Matches("not valid JSON|the document is empty", rejected.Errors[0].Reason);
        Assert.Equal("EG_M1", _store.Current!.Modbus[0].MachineId);
        Assert.Same(rejected, _store.LastError);

        await File.WriteAllTextAsync(path, full);
        var applied = await NextAppliedAsync();

        Assert.Equal(ConfigurationApplyStatus.Applied, applied.Status);
        Assert.Equal("EG_M2", _store.Current!.Modbus[0].MachineId);
        Assert.Null(_store.LastError);
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task File_replaced_by_rename_is_applied()
    {
        var path = Path.Combine(_directory, "edge.json");
        await File.WriteAllTextAsync(path, ConfigurationSamples.Minimal("EG_M1"));
        using var stop = new CancellationTokenSource();
        var run = Watcher(path).RunAsync(stop.Token);
        Assert.Equal(ConfigurationApplyStatus.Applied, (await NextAsync()).Status);

        var temporary = Path.Combine(_directory, "edge.json.tmp");
        await File.WriteAllTextAsync(temporary, ConfigurationSamples.Minimal("EG_M3"));
        File.Move(temporary, path, overwrite: true);

        Assert.Equal(ConfigurationApplyStatus.Applied, (await NextAsync()).Status);
        Assert.Equal("EG_M3", _store.Current!.Modbus[0].MachineId);
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Missing_file_is_reported_and_applied_once_it_appears()
    {
        var path = Path.Combine(_directory, "later.json");
        using var stop = new CancellationTokenSource();
        var run = Watcher(path).RunAsync(stop.Token);

        var missing = await NextAsync();
        Assert.Equal(ConfigurationApplyStatus.Rejected, missing.Status);
        Assert.Contains("does not exist", missing.Errors[0].Reason, StringComparison.Ordinal);

        await File.WriteAllTextAsync(path, ConfigurationSamples.Minimal("EG_M4"));

        Assert.Equal(ConfigurationApplyStatus.Applied, (await NextAppliedAsync()).Status);
        Assert.Equal("EG_M4", _store.Current!.Modbus[0].MachineId);
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    private FileConfigurationWatcher Watcher(string path) =>
        new(path, _store, pollInterval: TimeSpan.FromMilliseconds(200), debounce: TimeSpan.FromMilliseconds(100));

    private async Task<ConfigurationApplyResult> NextAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await _results.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>
    /// The next applied configuration: a write is a truncate and then the data, and a read that lands between
    /// the two is rightly rejected first.
    /// </summary>
    private async Task<ConfigurationApplyResult> NextAppliedAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var result = await _results.Reader.ReadAsync(timeout.Token);
            if (result.Status == ConfigurationApplyStatus.Applied)
            {
                return result;
            }
        }
    }
}
