using Pdm.Storage;
using Pdm.Testing;

namespace Pdm.Prediction.Tests;

[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ModelRegistryTests(RegistryFixture fixture)
{
    private static readonly Dictionary<string, double> Metrics = new() { ["rmse"] = 12.62 };
    private static readonly Dictionary<string, string> Parameters = new() { ["trees"] = "100" };

    [Fact]
    public async Task A_registered_model_is_listed_in_staging_and_its_artifact_is_stored_by_hash()
    {
        var name = RegistryFixture.NewName();
        byte[] bytes = [1, 2, 3, 4];

        var registered = await fixture.Registry.RegisterAsync(name, "anomaly", bytes, "data-1", Metrics, Parameters,
            CancellationToken.None);

        Assert.Equal(1, registered.Version);
        Assert.Equal(ModelStage.Staging, registered.Stage);
        Assert.Equal(4, registered.ArtifactSize);
        Assert.Equal($"{name}/sha256-{registered.ArtifactSha256}", registered.ArtifactBlob);
        var listed = Assert.Single(await fixture.AppRegistry.ListAsync(name, CancellationToken.None));
        Assert.Equal(12.62, listed.Metrics["rmse"]);
        Assert.Equal("100", listed.Parameters["trees"]);
        var artifact = await fixture.AppRegistry.GetAsync(name, 1, CancellationToken.None);
        Assert.Equal(bytes, artifact?.Content.ToArray());
    }

    [Fact]
    public async Task A_name_keeps_the_kind_of_its_first_version()
    {
        var name = RegistryFixture.NewName();
        await fixture.Registry.RegisterAsync(name, ModelKinds.Rul, new byte[] { 3 }, "data", Metrics, Parameters, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<ModelKindConflictException>(() => fixture.Registry.RegisterAsync(name, ModelKinds.State,
            new byte[] { 4 }, "data", Metrics, Parameters, CancellationToken.None));

        Assert.Equal($"Model '{name}' holds rul models, not state: choose another name.", refused.Message);
        Assert.Equal(ModelKinds.Rul, Assert.Single(await fixture.AppRegistry.ListAsync(name, CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task Nothing_is_in_production_until_a_version_is_promoted()
    {
        var name = RegistryFixture.NewName();
        await fixture.Registry.RegisterAsync(name, "rul", new byte[] { 9 }, "data", Metrics, Parameters, CancellationToken.None);

        Assert.Null(await fixture.AppRegistry.GetProductionAsync(name, CancellationToken.None));

        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var production = await fixture.AppRegistry.GetProductionAsync(name, CancellationToken.None);
        Assert.Equal(1, production?.Metadata.Version);
        Assert.Equal([9], production?.Content.ToArray());
    }

    [Fact]
    public async Task Promoting_a_new_version_archives_the_old_and_serves_the_new_bytes()
    {
        var name = RegistryFixture.NewName();
        await fixture.Registry.RegisterAsync(name, "state", new byte[] { 1 }, "data-a", Metrics, Parameters, CancellationToken.None);
        await fixture.Registry.RegisterAsync(name, "state", new byte[] { 2 }, "data-b", Metrics, Parameters, CancellationToken.None);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);

        var promotion = await fixture.Registry.PromoteAsync(name, 2, ModelStage.Production, CancellationToken.None);

        Assert.Equal(1, promotion?.Archived?.Version);
        Assert.Equal([2], (await fixture.AppRegistry.GetProductionAsync(name, CancellationToken.None))?.Content.ToArray());
        Assert.Equal([ModelStage.Production, ModelStage.Archived],
            (await fixture.AppRegistry.ListAsync(name, CancellationToken.None)).Select(m => m.Stage));
    }

    [Fact]
    public async Task Registering_the_same_bytes_twice_makes_two_versions_over_one_blob()
    {
        var name = RegistryFixture.NewName();

        var first = await fixture.Registry.RegisterAsync(name, "rul", new byte[] { 5, 5 }, "d", Metrics, Parameters, CancellationToken.None);
        var second = await fixture.Registry.RegisterAsync(name, "rul", new byte[] { 5, 5 }, "d", Metrics, Parameters, CancellationToken.None);

        Assert.Equal(2, second.Version);
        Assert.Equal(first.ArtifactBlob, second.ArtifactBlob);
    }

    [Fact]
    public async Task An_artifact_that_no_longer_matches_its_hash_is_refused()
    {
        var name = RegistryFixture.NewName();
        var registered = await fixture.Registry.RegisterAsync(name, "rul", new byte[] { 1, 2 }, "d", Metrics, Parameters,
            CancellationToken.None);
        await fixture.Registry.PromoteAsync(name, 1, ModelStage.Production, CancellationToken.None);
        await fixture.Container.GetBlobClient(registered.ArtifactBlob).UploadAsync(BinaryData.FromBytes([6, 6, 6]), overwrite: true);

        var error = await Assert.ThrowsAsync<ModelIntegrityException>(() =>
            fixture.AppRegistry.GetProductionAsync(name, CancellationToken.None));

        Assert.Contains(registered.ArtifactSha256, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_artifact_is_refused()
    {
        var name = RegistryFixture.NewName();
        var registered = await fixture.Registry.RegisterAsync(name, "rul", new byte[] { 7 }, "d", Metrics, Parameters,
            CancellationToken.None);
        await fixture.Container.DeleteBlobAsync(registered.ArtifactBlob);

        var error = await Assert.ThrowsAsync<ModelIntegrityException>(() =>
            fixture.AppRegistry.GetAsync(name, 1, CancellationToken.None));

        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promoting_an_unknown_version_is_null()
    {
        Assert.Null(await fixture.Registry.PromoteAsync(RegistryFixture.NewName(), 3, ModelStage.Production, CancellationToken.None));
    }

    [Theory]
    [InlineData("rul-fd001", true)]
    [InlineData("anomaly.v2_b", true)]
    [InlineData("", false)]
    [InlineData("Upper", false)]
    [InlineData("-leading-dash", false)]
    [InlineData("with/slash", false)]
    public void Model_names_are_lower_case_slugs(string name, bool valid)
    {
        var error = ModelRegistry.ValidateName(name);

        Assert.Equal(valid, error is null);
        if (!valid)
        {
            Assert.Contains($"'{name}'", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_invalid_name_or_a_non_finite_metric_is_refused_before_anything_is_stored()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Registry.RegisterAsync("Bad Name", "rul", new byte[] { 1 }, "d",
            Metrics, Parameters, CancellationToken.None));
        var name = RegistryFixture.NewName();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Registry.RegisterAsync(name, "rul", new byte[] { 1 },
            "d", new Dictionary<string, double> { ["rmse"] = double.NaN }, Parameters, CancellationToken.None));

        Assert.Contains("rmse", error.Message, StringComparison.Ordinal);
        Assert.Empty(await fixture.AppRegistry.ListAsync(name, CancellationToken.None));
    }

    [Fact]
    public void Log_event_ids_are_unique_and_in_the_prediction_range()
    {
        LogEventIds.AssertUniqueWithin(typeof(ModelRegistry).Assembly, 4200, 4299);
    }
}
