using Pdm.Analytics.Datasets;

namespace Pdm.Analytics.Tests.Datasets;

public sealed class CmapssBenchmarkTests
{
    /// <summary>A regression guard a little looser than the 13 RMSE target; the default model measured 12.6.</summary>
    [Fact]
    [Trait("Category", "Integration")]
    public void Fd001_test_rmse_stays_within_14_cycles()
    {
        var result = CmapssBenchmark.EvaluateFd001(CmapssDatasetTests.Directory);

        Assert.Empty(result.Errors);
        Assert.True(result.Evaluation!.Rmse <= 14, $"RMSE {result.Evaluation.Rmse:F2}, NASA score {result.Evaluation.NasaScore:F0}");
        Assert.True(result.TrainingTime < TimeSpan.FromSeconds(90), $"training took {result.TrainingTime}");
    }
}
