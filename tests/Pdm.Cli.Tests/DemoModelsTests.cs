using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Simulator;
using Pdm.Simulator.Twin;
using Pdm.Storage;

namespace Pdm.Cli.Tests;

public sealed class DemoModelsKindNameTests
{
    [Theory]
    [InlineData(MachineKind.CentrifugalPump, "centrifugal-pump")]
    [InlineData(MachineKind.CncMill, "cnc-mill")]
    [InlineData(MachineKind.QualityTester, "quality-tester")]
    public void Kinds_are_named_in_kebab_case(MachineKind kind, string expected) => Assert.Equal(expected, DemoModels.KindName(kind));
}

[Collection(RegistryStackGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DemoModelsTests(RegistryStackFixture stack)
{
    [Fact]
    public async Task Default_models_are_trained_on_the_live_sensor_names_promoted_and_not_trained_again_on_the_same_data()
    {
        var folder = Path.Combine(stack.Folder, "demo-models");
        var lines = new List<string>();

        var first = await DemoModels.EnsureAsync(stack.Registry, [MachineKind.CentrifugalPump, MachineKind.CentrifugalPump], folder,
            new PlantOptions(), TimeSpan.FromSeconds(1), line => { lock (lines) { lines.Add(line); } }, CancellationToken.None);
        var second = await DemoModels.EnsureAsync(stack.Registry, [MachineKind.CentrifugalPump], folder, new PlantOptions(), TimeSpan.FromSeconds(1), _ => { }, CancellationToken.None);

        Assert.Equal(["anomaly-centrifugal-pump", "rul-centrifugal-pump", "state-centrifugal-pump"], first.Select(o => o.Name));
        Assert.All(first, o => Assert.True(o.Trained));
        Assert.Equal(3, lines.Count);
        Assert.All(second, o => Assert.False(o.Trained));
        Assert.Equal(first.Select(o => o.Version), second.Select(o => o.Version));

        var live = MachineProfile.SensorsOf(MachineKind.CentrifugalPump).Select(s => s.Sensor).Order(StringComparer.Ordinal).ToList();
        var anomaly = await ProductionAsync("anomaly-centrifugal-pump");
        Assert.Equal(live, AnomalyModel.Read(anomaly.Content.Span).Model!.FeatureNames.Order(StringComparer.Ordinal));
        var rul = await ProductionAsync("rul-centrifugal-pump");
        Assert.Equal(live, RulModel.Read(new MemoryStream(rul.Content.ToArray())).Features.InputNames.Order(StringComparer.Ordinal));
        var state = await ProductionAsync("state-centrifugal-pump");
        Assert.Equal(live, StateModel.Read(new MemoryStream(state.Content.ToArray())).Features.InputNames.Order(StringComparer.Ordinal));
        Assert.Equal(ModelStage.Production, state.Metadata.Stage);
    }

    private async Task<Pdm.Prediction.ModelArtifact> ProductionAsync(string name) =>
        (await stack.Registry.GetProductionAsync(name, CancellationToken.None))!;
}
