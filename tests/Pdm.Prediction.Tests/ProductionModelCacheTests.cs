using Pdm.Storage;
using Pdm.Testing;

namespace Pdm.Prediction.Tests;

[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ProductionModelCacheTests(RegistryFixture fixture)
{
    private static readonly Dictionary<string, double> NoMetrics = [];
    private static readonly Dictionary<string, string> NoParameters = [];
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_promotion_is_picked_up_after_the_check_interval_not_before()
    {
        var name = RegistryFixture.NewName();
        await RegisterAsync(name, 1);
        await RegisterAsync(name, 2);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var clock = new ManualClock();
        var cache = new ProductionModelCache(fixture.AppRegistry, clock, Interval);

        Assert.Equal([1], (await cache.GetAsync(name, CancellationToken.None))?.Content.ToArray());

        await fixture.Registry.PromoteAsync(name, 2, ModelStage.Production, CancellationToken.None);
        clock.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await cache.GetAsync(name, CancellationToken.None))?.Metadata.Version);

        clock.Advance(TimeSpan.FromSeconds(1));
        var reloaded = await cache.GetAsync(name, CancellationToken.None);
        Assert.Equal(2, reloaded?.Metadata.Version);
        Assert.Equal([2], reloaded?.Content.ToArray());
    }

    [Fact]
    public async Task An_unchanged_version_is_not_downloaded_again()
    {
        var name = RegistryFixture.NewName();
        await RegisterAsync(name, 1);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var clock = new ManualClock();
        var cache = new ProductionModelCache(fixture.AppRegistry, clock, Interval);
        var first = await cache.GetAsync(name, CancellationToken.None);

        clock.Advance(Interval * 3);
        var second = await cache.GetAsync(name, CancellationToken.None);

        // Same instance: the check found the same version and kept the loaded bytes.
        Assert.NotNull(first);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task With_nothing_in_production_the_cache_returns_null_until_a_promotion()
    {
        var name = RegistryFixture.NewName();
        await RegisterAsync(name, 4);
        var clock = new ManualClock();
        var cache = new ProductionModelCache(fixture.AppRegistry, clock, Interval);

        Assert.Null(await cache.GetAsync(name, CancellationToken.None));

        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        clock.Advance(Interval);
        Assert.Equal([4], (await cache.GetAsync(name, CancellationToken.None))?.Content.ToArray());
    }

    [Fact]
    public async Task A_damaged_new_version_keeps_the_last_good_model_in_service()
    {
        var name = RegistryFixture.NewName();
        await RegisterAsync(name, 1);
        var broken = await RegisterAsync(name, 2);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var clock = new ManualClock();
        var cache = new ProductionModelCache(fixture.AppRegistry, clock, Interval);
        await cache.GetAsync(name, CancellationToken.None);
        await fixture.Container.DeleteBlobAsync(broken.ArtifactBlob);
        await fixture.Registry.PromoteAsync(name, 2, ModelStage.Production, CancellationToken.None);

        clock.Advance(Interval);

        Assert.Equal(1, (await cache.GetAsync(name, CancellationToken.None))?.Metadata.Version);
    }

    [Fact]
    public async Task Concurrent_callers_after_a_promotion_all_get_the_new_version()
    {
        var name = RegistryFixture.NewName();
        await RegisterAsync(name, 1);
        await RegisterAsync(name, 2);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var clock = new ManualClock();
        var cache = new ProductionModelCache(fixture.AppRegistry, clock, Interval);
        await cache.GetAsync(name, CancellationToken.None);
        await fixture.Registry.PromoteAsync(name, 2, ModelStage.Production, CancellationToken.None);
        clock.Advance(Interval);

        var results = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() => cache.GetAsync(name, CancellationToken.None))));

        Assert.All(results, r => Assert.Equal(2, r?.Metadata.Version));
        Assert.Single(results.Distinct());
    }

    private Task<ModelVersion> RegisterAsync(string name, byte content) =>
        fixture.Registry.RegisterAsync(name, "rul", new[] { content }, "data", NoMetrics, NoParameters, CancellationToken.None);

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
