using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

public sealed class ConfigurationStoreTests
{
    [Fact]
    public void Valid_document_is_applied_and_announced()
    {
        var store = new ConfigurationStore();
        var changes = new List<ConfigurationChangedEventArgs>();
        store.Changed += (_, e) => changes.Add(e);

        var result = store.Apply(ConfigurationSamples.Minimal(), "test");

        Assert.Equal(ConfigurationApplyStatus.Applied, result.Status);
        Assert.Equal(1, result.Version);
        Assert.Equal("EG_PRESS_7", store.Current?.Modbus[0].MachineId);
        var change = Assert.Single(changes);
        Assert.Same(store.Current, change.Configuration);
        Assert.Null(change.Previous);
        Assert.Null(store.LastError);
    }

    [Fact]
    public void Rejected_document_keeps_the_last_good_configuration_and_reports_why()
    {
        var store = new ConfigurationStore();
        store.Apply(ConfigurationSamples.Minimal(), "first");
        var good = store.Current;
        var rejections = new List<ConfigurationApplyResult>();
        store.Rejected += (_, e) => rejections.Add(e);
        var changed = false;
        store.Changed += (_, _) => changed = true;

        var result = store.Apply(ConfigurationSamples.Minimal(machineId: "bad id"), "second");

        Assert.Equal(ConfigurationApplyStatus.Rejected, result.Status);
        Assert.Same(good, store.Current);
        Assert.Equal(1, store.Version);
        Assert.False(changed);
        Assert.Same(result, Assert.Single(rejections));
        Assert.Same(result, store.LastError);
        Assert.Equal("second", store.LastError!.Origin);
        Assert.Equal("modbus[0].machineId", Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void Malformed_json_is_rejected_with_its_position()
    {
        var store = new ConfigurationStore();

        var result = store.Apply("{ \"schemaVersion\": 1, ", "test");

        Assert.Equal(ConfigurationApplyStatus.Rejected, result.Status);
        Assert.StartsWith("not valid JSON at line 1", Assert.Single(result.Errors).Reason, StringComparison.Ordinal);
        Assert.Null(store.Current);
    }

    [Fact]
    public void Same_document_again_is_unchanged_and_raises_nothing()
    {
        var store = new ConfigurationStore();
        store.Apply(ConfigurationSamples.Minimal(), "first");
        var raised = 0;
        store.Changed += (_, _) => raised++;

        // Same content, other formatting: the twin may resend its whole desired section after a reconnect.
        var result = store.Apply(ConfigurationSamples.Minimal().ReplaceLineEndings(" "), "again");

        Assert.Equal(ConfigurationApplyStatus.Unchanged, result.Status);
        Assert.Equal(0, raised);
        Assert.Equal(1, store.Version);
    }

    [Fact]
    public void Accepted_document_after_a_rejection_clears_the_error_and_replaces_the_configuration()
    {
        var store = new ConfigurationStore();
        store.Apply(ConfigurationSamples.Minimal(), "first");
        store.Apply("not json", "broken");
        EdgeConfiguration? previous = null;
        store.Changed += (_, e) => previous = e.Previous;
        var first = store.Current;

        var result = store.Apply(ConfigurationSamples.Minimal(machineId: "EG_PRESS_8"), "fixed");

        Assert.Equal(ConfigurationApplyStatus.Applied, result.Status);
        Assert.Equal(2, store.Version);
        Assert.Null(store.LastError);
        Assert.Same(first, previous);
        Assert.Equal("EG_PRESS_8", store.Current!.Modbus[0].MachineId);
    }
}
