using Npgsql;

namespace Pdm.Storage.Tests;

[Collection(PostgresGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ModelsTests(PostgresFixture fixture) : IAsyncLifetime
{
    // Registering and promoting need the owner; the app role (fixture.Database) only reads.
    private PdmStores _owner = null!;

    public Task InitializeAsync()
    {
        _owner = PdmStores.Create(fixture.ConnectionStrings.OwnerConnectionString);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _owner.DisposeAsync();

    [Fact]
    public async Task A_registered_model_keeps_its_metadata_and_starts_in_staging()
    {
        var name = NewName();
        var sha = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

        var registered = await _owner.Models.RegisterModelAsync(New(name) with
        {
            ArtifactSha256 = sha,
            Metrics = new Dictionary<string, double> { ["rmse"] = 12.62, ["r2"] = 0.81 },
            Parameters = new Dictionary<string, string> { ["trees"] = "100", ["window"] = "30" },
        }, CancellationToken.None);

        Assert.Equal(1, registered.Version);
        Assert.Equal(ModelStage.Staging, registered.Stage);
        Assert.Equal("rul", registered.Kind);
        Assert.Equal(Convert.ToHexStringLower(sha), registered.ArtifactSha256);
        Assert.Equal(1234, registered.ArtifactSize);
        Assert.Equal("data-hash", registered.TrainingDataHash);
        Assert.Equal(12.62, registered.Metrics["rmse"]);
        Assert.Equal("30", registered.Parameters["window"]);
        var read = await fixture.Stores.Models.GetModelAsync(name, 1, CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal(registered.Metrics, read.Metrics);
        Assert.Equal(registered.Parameters, read.Parameters);
        Assert.Equal(registered.CreatedAt, read.CreatedAt);
    }

    [Fact]
    public async Task Versions_count_up_per_name_and_list_newest_first()
    {
        var name = NewName();
        var other = NewName();

        await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);
        await _owner.Models.RegisterModelAsync(New(other), CancellationToken.None);
        var second = await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);

        Assert.Equal(2, second.Version);
        Assert.Equal([2, 1], (await fixture.Stores.Models.ListModelsAsync(name, CancellationToken.None)).Select(m => m.Version));
        var all = await fixture.Stores.Models.ListModelsAsync(null, CancellationToken.None);
        Assert.Contains(all, m => m.Name == other && m.Version == 1);
        Assert.Contains(all, m => m.Name == name && m.Version == 2);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_name_get_distinct_versions()
    {
        var name = NewName();

        var registered = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => Task.Run(() => _owner.Models.RegisterModelAsync(New(name), CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 8), registered.Select(m => m.Version).Order());
    }

    [Fact]
    public async Task Promoting_to_production_archives_the_previous_production_version()
    {
        var name = NewName();
        for (var i = 0; i < 3; i++)
        {
            await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);
        }

        var first = await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Production, CancellationToken.None);
        var second = await _owner.Models.PromoteModelAsync(name, 2, ModelStage.Production, CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(first.Archived);
        Assert.NotNull(second);
        Assert.Equal(ModelStage.Production, second.Promoted.Stage);
        Assert.Equal(1, second.Archived?.Version);
        Assert.Equal(ModelStage.Archived, second.Archived?.Stage);
        Assert.Equal(2, (await fixture.Stores.Models.GetProductionModelAsync(name, CancellationToken.None))?.Version);
        Assert.Equal([ModelStage.Staging, ModelStage.Production, ModelStage.Archived],
            (await fixture.Stores.Models.ListModelsAsync(name, CancellationToken.None)).Select(m => m.Stage));
    }

    [Fact]
    public async Task Promoting_the_production_version_again_changes_nothing()
    {
        var name = NewName();
        await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);
        var first = await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Production, CancellationToken.None);

        var again = await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Production, CancellationToken.None);

        Assert.NotNull(again);
        Assert.Null(again.Archived);
        Assert.Equal(first?.Promoted.StageChangedAt, again.Promoted.StageChangedAt);
    }

    [Fact]
    public async Task Archiving_the_production_version_leaves_none_in_production()
    {
        var name = NewName();
        await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);
        await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Production, CancellationToken.None);

        var archived = await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Archived, CancellationToken.None);

        Assert.Equal(ModelStage.Archived, archived?.Promoted.Stage);
        Assert.Null(await fixture.Stores.Models.GetProductionModelAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task Promoting_an_unknown_version_is_null_and_changes_nothing()
    {
        var name = NewName();
        await _owner.Models.RegisterModelAsync(New(name), CancellationToken.None);
        await _owner.Models.PromoteModelAsync(name, 1, ModelStage.Production, CancellationToken.None);

        Assert.Null(await _owner.Models.PromoteModelAsync(name, 9, ModelStage.Production, CancellationToken.None));
        Assert.Null(await _owner.Models.PromoteModelAsync(NewName(), 1, ModelStage.Production, CancellationToken.None));
        Assert.Equal(1, (await fixture.Stores.Models.GetProductionModelAsync(name, CancellationToken.None))?.Version);
    }

    [Fact]
    public async Task The_app_role_reads_models_but_cannot_register_them()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            fixture.Stores.Models.RegisterModelAsync(New(NewName()), CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.NotNull(await fixture.Stores.Models.ListModelsAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_name_that_is_not_a_lower_case_slug_is_refused_by_the_database()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            _owner.Models.RegisterModelAsync(New("Bad Name/1"), CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
    }

    [Theory]
    [InlineData("staging", ModelStage.Staging)]
    [InlineData("Production", ModelStage.Production)]
    [InlineData("ARCHIVED", ModelStage.Archived)]
    public void Stage_names_parse_in_any_case(string text, ModelStage expected)
    {
        Assert.True(ModelStore.TryParseStage(text, out var stage));
        Assert.Equal(expected, stage);
        Assert.Equal(text.ToLowerInvariant(), ModelStore.StageText(stage));
    }

    [Fact]
    public void An_unknown_stage_does_not_parse()
    {
        Assert.False(ModelStore.TryParseStage("retired", out _));
    }

    private static string NewName() => $"m-{Guid.NewGuid():N}"[..20];

    private static NewModelVersion New(string name) => new()
    {
        Name = name,
        Kind = "rul",
        ArtifactBlob = $"{name}/blob",
        ArtifactSha256 = new byte[32],
        ArtifactSize = 1234,
        TrainingDataHash = "data-hash",
        Metrics = new Dictionary<string, double>(),
        Parameters = new Dictionary<string, string>(),
    };
}
