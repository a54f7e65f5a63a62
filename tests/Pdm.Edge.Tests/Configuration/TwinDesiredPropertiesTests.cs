using System.Text.Json;
using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

public sealed class TwinDesiredPropertiesTests
{
    private readonly ConfigurationStore _store = new();
    private readonly TwinDesiredProperties _twin;

    public TwinDesiredPropertiesTests() => _twin = new TwinDesiredProperties(_store);

    [Fact]
    public void Full_desired_section_with_version_and_metadata_is_applied()
    {
        var result = _twin.ApplyFull(Desired(ConfigurationSamples.Minimal(), version: 4));

        Assert.Equal(TwinApplyStatus.Applied, result.Status);
        Assert.Equal(4, result.DesiredVersion);
        Assert.Equal(4, _twin.DesiredVersion);
        Assert.Equal("EG_PRESS_7", _store.Current!.Modbus[0].MachineId);
        Assert.Equal("twin desired $version 4", _store.LastResult!.Origin);
    }

    [Fact]
    public void Patch_merges_onto_the_desired_document()
    {
        _twin.ApplyFull(Desired(ConfigurationSamples.Minimal(), version: 4));

        // IoT Hub sends only what changed: here one property deep inside the document, plus the bookkeeping.
        var result = _twin.ApplyPatch("""
            { "config": { "queue": { "maxBytes": 33554432 }, "gatewayId": "plant-a-gw2" },
              "$version": 5, "$metadata": { "$lastUpdated": "2026-11-21T08:00:00Z" } }
            """);

        Assert.Equal(TwinApplyStatus.Applied, result.Status);
        Assert.Equal(33554432, _store.Current!.Queue.MaxBytes);
        Assert.Equal("plant-a-gw2", _store.Current.GatewayId);
        Assert.Equal("EG_PRESS_7", _store.Current.Modbus[0].MachineId);
    }

    [Fact]
    public void Null_in_a_patch_removes_the_property()
    {
        _twin.ApplyFull(Desired("""{ "schemaVersion": 1, "gatewayId": "gw", "queue": { "maxBytes": 33554432 } }""", version: 1));

        _twin.ApplyPatch("""{ "config": { "queue": null }, "$version": 2 }""");

        Assert.Equal(QueueConfiguration.DefaultMaxBytes, _store.Current!.Queue.MaxBytes);
    }

    [Fact]
    public void Stale_versions_are_ignored()
    {
        _twin.ApplyFull(Desired(ConfigurationSamples.Minimal("EG_M5"), version: 5));

        var oldPatch = _twin.ApplyPatch(Desired(ConfigurationSamples.Minimal("EG_M4"), version: 5));
        var oldFull = _twin.ApplyFull(Desired(ConfigurationSamples.Minimal("EG_M3"), version: 3));

        Assert.Equal(TwinApplyStatus.Stale, oldPatch.Status);
        Assert.Equal(TwinApplyStatus.Stale, oldFull.Status);
        Assert.Equal("EG_M5", _store.Current!.Modbus[0].MachineId);
        Assert.Equal(1, _store.Version);
    }

    [Fact]
    public void Patch_that_skips_a_version_or_comes_before_the_full_twin_asks_for_the_full_twin()
    {
        var early = _twin.ApplyPatch(Desired(ConfigurationSamples.Minimal(), version: 1));
        _twin.ApplyFull(Desired(ConfigurationSamples.Minimal("EG_M5"), version: 5));

        var skipping = _twin.ApplyPatch("""{ "config": { "gatewayId": "other" }, "$version": 7 }""");

        Assert.Equal(TwinApplyStatus.FullTwinNeeded, early.Status);
        Assert.Equal(TwinApplyStatus.FullTwinNeeded, skipping.Status);
        Assert.Equal("plant-a-gw1", _store.Current!.GatewayId);
    }

    [Fact]
    public void Invalid_patch_is_rejected_and_the_last_good_configuration_keeps_running()
    {
        _twin.ApplyFull(Desired(ConfigurationSamples.Minimal(), version: 4));

        var result = _twin.ApplyPatch("""{ "config": { "modbus": [ { "name": "x" } ] }, "$version": 5 }""");

        Assert.Equal(TwinApplyStatus.Rejected, result.Status);
        Assert.Contains(result.Errors, e => e.Path == "modbus[0].machineId");
        Assert.Equal("EG_PRESS_7", _store.Current!.Modbus[0].MachineId);
    }

    [Fact]
    public void Desired_properties_without_config_are_rejected_at_config()
    {
        var result = _twin.ApplyFull("""{ "other": 1, "$version": 2 }""");

        Assert.Equal(TwinApplyStatus.Rejected, result.Status);
        Assert.Equal("config", Assert.Single(result.Errors).Path);
        Assert.Null(_store.Current);
    }

    [Fact]
    public void Reported_properties_show_config_outcome_sources_and_queue()
    {
        _twin.ApplyFull(Desired(ConfigurationSamples.Minimal(), version: 7));
        _twin.ApplyPatch("""{ "config": { "schemaVersion": 9 }, "$version": 8 }""");
        var lastRead = new DateTimeOffset(2026, 11, 21, 8, 15, 1, 900, TimeSpan.Zero);
        SourceStatus[] sources =
        [
            new() { Name = "press-7", Kind = "modbus", State = SourceState.Connected, LastRead = lastRead, Reads = 12 },
            new()
            {
                Name = "plant-broker", Kind = "mqtt", State = SourceState.Failing, LastError = "broker down",
                LastErrorAt = lastRead, Reads = 3, Errors = 2,
            },
        ];

        using var reported = JsonDocument.Parse(_twin.BuildReported(sources, new Dictionary<string, long> { ["bytes"] = 4096, ["readings"] = 17 }));

        var root = reported.RootElement;
        var config = root.GetProperty("config");
        Assert.Equal(8, config.GetProperty("version").GetInt64());
        Assert.Equal("rejected", config.GetProperty("status").GetString());
        Assert.Equal(7, config.GetProperty("activeVersion").GetInt64());
        Assert.Equal(1, config.GetProperty("errorCount").GetInt32());
        var error = Assert.Single(config.GetProperty("errors").EnumerateArray());
        Assert.Equal("schemaVersion", error.GetProperty("path").GetString());
        Assert.Contains("schema version 9 is not supported", error.GetProperty("reason").GetString(), StringComparison.Ordinal);

        var press = root.GetProperty("sources").GetProperty("press-7");
        Assert.Equal("modbus", press.GetProperty("kind").GetString());
        Assert.Equal("connected", press.GetProperty("state").GetString());
        Assert.Equal("2026-11-21T08:15:01.900Z", press.GetProperty("lastRead").GetString());
        Assert.Equal(JsonValueKind.Null, press.GetProperty("lastError").ValueKind);
        Assert.Equal(12, press.GetProperty("reads").GetInt64());
        Assert.Equal(0, press.GetProperty("errors").GetInt64());
        var broker = root.GetProperty("sources").GetProperty("plant-broker");
        Assert.Equal("failing", broker.GetProperty("state").GetString());
        Assert.Equal("broker down", broker.GetProperty("lastError").GetString());
        Assert.Equal(2, broker.GetProperty("errors").GetInt64());

        Assert.Equal(4096, root.GetProperty("queue").GetProperty("bytes").GetInt64());
        Assert.Equal(17, root.GetProperty("queue").GetProperty("readings").GetInt64());
    }

    [Fact]
    public void Source_gone_from_the_configuration_is_reported_as_null_once()
    {
        SourceStatus press = new() { Name = "press-7", Kind = "modbus", State = SourceState.Connected };
        SourceStatus broker = new() { Name = "plant-broker", Kind = "mqtt", State = SourceState.Connected };
        _twin.BuildReported([press, broker]);

        using var second = JsonDocument.Parse(_twin.BuildReported([press]));
        using var third = JsonDocument.Parse(_twin.BuildReported([press]));

        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("sources").GetProperty("plant-broker").ValueKind);
        Assert.False(third.RootElement.GetProperty("sources").TryGetProperty("plant-broker", out _));
        Assert.False(third.RootElement.TryGetProperty("config", out _));
    }

    private static string Desired(string config, long version) => $$"""
        {
          "config": {{config}},
          "$metadata": { "$lastUpdated": "2026-11-21T08:00:00Z", "config": { "$lastUpdated": "2026-11-21T08:00:00Z", "$lastUpdatedVersion": {{version}} } },
          "$version": {{version}}
        }
        """;
}
